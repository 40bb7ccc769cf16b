"""The argv builder: each option's words, exactly, in the order they were asked for."""

from __future__ import annotations

from tasks.shared.command import Command


def test_words_flags_and_options_in_order():
    command = (
        Command("docker", "buildx", "prune")
        .flag("--force")
        .option("--builder", "b1")
        .flag("--all", True)
        .flag("--verbose", False)
        .options("--filter", ["until=168h", "type=regular"])
        .args("extra")
    )
    assert command.argv == [
        "docker", "buildx", "prune", "--force", "--builder", "b1", "--all",
        "--filter", "until=168h", "--filter", "type=regular", "extra",
    ]  # fmt: skip


def test_an_option_without_a_value_is_left_out():
    assert Command("x").option("--image", None).option("--network", "").argv == ["x"]


def test_joined_options_are_one_word_each():
    command = Command("bake").option("--builder", "b1", joined=True)
    command = command.options("--allow", ["a", "b"], joined=True)
    assert command.argv == ["bake", "--builder=b1", "--allow=a", "--allow=b"]


def test_numbers_become_words():
    stop = Command("docker", "stop").option("-t", 10).args("tester")
    assert stop.argv == ["docker", "stop", "-t", "10", "tester"]


def test_every_step_is_a_new_command_so_a_base_can_be_reused():
    base = Command("docker", "buildx", "bake").options("-f", ["a.hcl"])
    one, two = base.args("one"), base.args("two")
    assert base.argv == ["docker", "buildx", "bake", "-f", "a.hcl"]
    assert (one.argv[-1], two.argv[-1]) == ("one", "two")


def test_a_command_unpacks_counts_and_compares_like_its_words():
    command = Command("docker", "ps").flag("-a")
    assert [*command, "--quiet"] == ["docker", "ps", "-a", "--quiet"]
    assert len(command) == 3
    assert command == Command("docker", "ps", "-a")
    assert command != Command("docker", "ps")
    assert repr(command) == "Command('docker', 'ps', '-a')"
