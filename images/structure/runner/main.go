// structure-test checks what an image is, from inside a build step that runs on the image:
// a container-structure-test style spec (schemaVersion "2.0.0": fileExistenceTests,
// fileContentTests, commandTests, metadataTest) against the filesystem, the user and the
// environment the step sees, which are the image's own.
//
// A build step cannot read the image's config, so the metadata the process can't observe
// comes from the image's definition: entrypoint and cmd from the final stage of the image's
// Dockerfile (-dockerfile), labels from the bake definition (-labels, a JSON object the bake
// file computes with the same expression as the image's labels). User, workdir and
// environment variables are observed.
//
// Every check prints one line, PASS or FAIL, naming the image and the check; the last line
// sums up. Exit status: 0 all passed, 1 a check failed, 2 a bad spec or bad arguments.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

type envVar struct {
	Key     string `yaml:"key"`
	Value   string `yaml:"value"`
	IsRegex bool   `yaml:"isRegex"`
}

type fileExistenceTest struct {
	Name           string `yaml:"name"`
	Path           string `yaml:"path"`
	ShouldExist    *bool  `yaml:"shouldExist"`
	Permissions    string `yaml:"permissions"`
	UID            *int   `yaml:"uid"`
	GID            *int   `yaml:"gid"`
	IsExecutableBy string `yaml:"isExecutableBy"`
}

type fileContentTest struct {
	Name             string   `yaml:"name"`
	Path             string   `yaml:"path"`
	ExpectedContents []string `yaml:"expectedContents"`
	ExcludedContents []string `yaml:"excludedContents"`
}

type commandTest struct {
	Name           string   `yaml:"name"`
	Command        string   `yaml:"command"`
	Args           []string `yaml:"args"`
	EnvVars        []envVar `yaml:"envVars"`
	ExpectedOutput []string `yaml:"expectedOutput"`
	ExcludedOutput []string `yaml:"excludedOutput"`
	ExpectedError  []string `yaml:"expectedError"`
	ExcludedError  []string `yaml:"excludedError"`
	ExitCode       int      `yaml:"exitCode"`
	Timeout        int      `yaml:"timeout"`
}

type metadataTest struct {
	EnvVars    []envVar  `yaml:"envVars"`
	Labels     []envVar  `yaml:"labels"`
	Entrypoint *[]string `yaml:"entrypoint"`
	Cmd        *[]string `yaml:"cmd"`
	Workdir    *string   `yaml:"workdir"`
	User       *string   `yaml:"user"`
}

type spec struct {
	SchemaVersion      string              `yaml:"schemaVersion"`
	FileExistenceTests []fileExistenceTest `yaml:"fileExistenceTests"`
	FileContentTests   []fileContentTest   `yaml:"fileContentTests"`
	CommandTests       []commandTest       `yaml:"commandTests"`
	MetadataTest       *metadataTest       `yaml:"metadataTest"`
}

// result of one check: a failure reason, or "" when it held.
type result struct {
	kind, name, problem string
}

func main() {
	image := flag.String("image", "", "name of the image under test (for messages)")
	specPath := flag.String("spec", "", "spec file (YAML, schemaVersion 2.0.0)")
	dockerfile := flag.String("dockerfile", "", "the image's Dockerfile (entrypoint/cmd of its final stage)")
	labels := flag.String("labels", "{}", "the image's labels from its bake definition (JSON object)")
	flag.Parse()
	if *image == "" || *specPath == "" || flag.NArg() != 0 {
		badInput("usage: structure-test -image NAME -spec FILE [-dockerfile FILE] [-labels JSON]")
	}
	loaded, err := loadSpec(*specPath)
	if err != nil {
		badInput(fmt.Sprintf("%s: %v", *specPath, err))
	}
	var results []result
	for _, test := range loaded.FileExistenceTests {
		results = append(results, result{"file", test.Name, checkFileExistence(test)})
	}
	for _, test := range loaded.FileContentTests {
		results = append(results, result{"content", test.Name, checkFileContent(test)})
	}
	for _, test := range loaded.CommandTests {
		results = append(results, result{"command", test.Name, checkCommand(test)})
	}
	if loaded.MetadataTest != nil {
		checks, err := checkMetadata(*loaded.MetadataTest, *dockerfile, *labels)
		if err != nil {
			badInput(err.Error())
		}
		results = append(results, checks...)
	}
	var failed []string
	for _, r := range results {
		if r.problem == "" {
			fmt.Printf("PASS [%s] %s: %s\n", *image, r.kind, r.name)
		} else {
			fmt.Printf("FAIL [%s] %s: %s: %s\n", *image, r.kind, r.name, r.problem)
			failed = append(failed, fmt.Sprintf("%s %q", r.kind, r.name))
		}
	}
	if len(failed) > 0 {
		fmt.Printf("structure test of %s: %d of %d check(s) failed: %s\n",
			*image, len(failed), len(results), strings.Join(failed, ", "))
		os.Exit(1)
	}
	fmt.Printf("structure test of %s: all %d check(s) passed\n", *image, len(results))
}

func badInput(message string) {
	fmt.Fprintf(os.Stderr, "structure-test: %s\n", message)
	os.Exit(2)
}

// loadSpec reads a spec strictly: unknown keys are refused, so a misspelt key can't turn into a
// check that never runs; every test needs a name (it is how a failure is reported).
func loadSpec(path string) (*spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	decoder := yaml.NewDecoder(bytes.NewReader(data))
	decoder.KnownFields(true)
	var loaded spec
	if err := decoder.Decode(&loaded); err != nil {
		return nil, err
	}
	if loaded.SchemaVersion != "2.0.0" {
		return nil, fmt.Errorf("schemaVersion must be \"2.0.0\", got %q", loaded.SchemaVersion)
	}
	for _, test := range loaded.FileExistenceTests {
		if test.Name == "" || test.Path == "" {
			return nil, errors.New("every fileExistenceTest needs a name and a path")
		}
	}
	for _, test := range loaded.FileContentTests {
		if test.Name == "" || test.Path == "" {
			return nil, errors.New("every fileContentTest needs a name and a path")
		}
	}
	for _, test := range loaded.CommandTests {
		if test.Name == "" || test.Command == "" {
			return nil, errors.New("every commandTest needs a name and a command")
		}
	}
	return &loaded, compileAll(&loaded)
}

// compileAll refuses a spec whose regexes don't compile before anything runs.
func compileAll(loaded *spec) error {
	var patterns []string
	for _, test := range loaded.FileContentTests {
		patterns = append(append(patterns, test.ExpectedContents...), test.ExcludedContents...)
	}
	for _, test := range loaded.CommandTests {
		patterns = append(patterns, test.ExpectedOutput...)
		patterns = append(patterns, test.ExcludedOutput...)
		patterns = append(patterns, test.ExpectedError...)
		patterns = append(patterns, test.ExcludedError...)
	}
	if loaded.MetadataTest != nil {
		for _, pair := range append(append([]envVar{}, loaded.MetadataTest.EnvVars...), loaded.MetadataTest.Labels...) {
			if pair.IsRegex {
				patterns = append(patterns, pair.Value)
			}
		}
	}
	for _, pattern := range patterns {
		if _, err := regexp.Compile(pattern); err != nil {
			return fmt.Errorf("bad regex %q: %v", pattern, err)
		}
	}
	return nil
}

func checkFileExistence(test fileExistenceTest) string {
	shouldExist := test.ShouldExist == nil || *test.ShouldExist
	info, err := os.Lstat(test.Path)
	if errors.Is(err, fs.ErrNotExist) {
		if shouldExist {
			return test.Path + " does not exist"
		}
		return ""
	}
	if err != nil {
		return err.Error()
	}
	if !shouldExist {
		return test.Path + " exists"
	}
	var problems []string
	if test.Permissions != "" && info.Mode().String() != test.Permissions {
		problems = append(problems, fmt.Sprintf("permissions %s, want %s", info.Mode(), test.Permissions))
	}
	if stat, ok := info.Sys().(*syscall.Stat_t); ok {
		if test.UID != nil && int(stat.Uid) != *test.UID {
			problems = append(problems, fmt.Sprintf("uid %d, want %d", stat.Uid, *test.UID))
		}
		if test.GID != nil && int(stat.Gid) != *test.GID {
			problems = append(problems, fmt.Sprintf("gid %d, want %d", stat.Gid, *test.GID))
		}
	}
	if test.IsExecutableBy != "" {
		if problem := executableBy(info.Mode(), test.IsExecutableBy); problem != "" {
			problems = append(problems, problem)
		}
	}
	return strings.Join(problems, "; ")
}

func executableBy(mode fs.FileMode, who string) string {
	bits := map[string]fs.FileMode{"owner": 0o100, "group": 0o010, "other": 0o001, "any": 0o111}
	bit, known := bits[who]
	if !known {
		return fmt.Sprintf("isExecutableBy must be owner, group, other or any, got %q", who)
	}
	if mode.Perm()&bit == 0 {
		return fmt.Sprintf("not executable by %s (%s)", who, mode)
	}
	return ""
}

func checkFileContent(test fileContentTest) string {
	data, err := os.ReadFile(test.Path)
	if err != nil {
		return err.Error()
	}
	return matchAll("contents", string(data), test.ExpectedContents, test.ExcludedContents)
}

// matchAll: every expected regex matches the text, no excluded one does.
func matchAll(what, text string, expected, excluded []string) string {
	var problems []string
	for _, pattern := range expected {
		if !regexp.MustCompile(pattern).MatchString(text) {
			problems = append(problems, fmt.Sprintf("%s do not match /%s/", what, pattern))
		}
	}
	for _, pattern := range excluded {
		if regexp.MustCompile(pattern).MatchString(text) {
			problems = append(problems, fmt.Sprintf("%s match excluded /%s/", what, pattern))
		}
	}
	return strings.Join(problems, "; ")
}

func checkCommand(test commandTest) string {
	timeout := time.Duration(test.Timeout) * time.Second
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	command := exec.Command(test.Command, test.Args...)
	command.Env = os.Environ()
	for _, pair := range test.EnvVars {
		command.Env = append(command.Env, pair.Key+"="+os.ExpandEnv(pair.Value))
	}
	var stdout, stderr bytes.Buffer
	command.Stdout, command.Stderr = &stdout, &stderr
	if err := command.Start(); err != nil {
		return err.Error()
	}
	done := make(chan error, 1)
	go func() { done <- command.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(timeout):
		_ = command.Process.Kill()
		<-done
		return fmt.Sprintf("timed out after %s", timeout)
	}
	exitCode := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		exitCode = exitErr.ExitCode()
	} else if err != nil {
		return err.Error()
	}
	var problems []string
	if exitCode != test.ExitCode {
		problems = append(problems, fmt.Sprintf("exit code %d, want %d", exitCode, test.ExitCode))
	}
	if problem := matchAll("stdout", stdout.String(), test.ExpectedOutput, test.ExcludedOutput); problem != "" {
		problems = append(problems, problem)
	}
	if problem := matchAll("stderr", stderr.String(), test.ExpectedError, test.ExcludedError); problem != "" {
		problems = append(problems, problem)
	}
	if len(problems) > 0 {
		problems = append(problems, fmt.Sprintf("stdout %q, stderr %q", tail(stdout.String()), tail(stderr.String())))
	}
	return strings.Join(problems, "; ")
}

func tail(text string) string {
	const keep = 400
	if len(text) > keep {
		return "…" + text[len(text)-keep:]
	}
	return text
}

func checkMetadata(test metadataTest, dockerfile, labelsJSON string) ([]result, error) {
	var results []result
	for _, pair := range test.EnvVars {
		actual, set := os.LookupEnv(pair.Key)
		problem := ""
		if !set {
			problem = "not set"
		} else {
			problem = compareValue(actual, pair)
		}
		results = append(results, result{"metadata", "env " + pair.Key, problem})
	}
	if test.Workdir != nil {
		problem := ""
		if actual, err := os.Getwd(); err != nil {
			problem = err.Error()
		} else if actual != *test.Workdir {
			problem = fmt.Sprintf("workdir %s, want %s", actual, *test.Workdir)
		}
		results = append(results, result{"metadata", "workdir", problem})
	}
	if test.User != nil {
		results = append(results, result{"metadata", "user", checkUser(*test.User)})
	}
	if len(test.Labels) > 0 {
		var labels map[string]string
		if err := json.Unmarshal([]byte(labelsJSON), &labels); err != nil {
			return nil, fmt.Errorf("-labels must be a JSON object of strings: %v", err)
		}
		for _, pair := range test.Labels {
			problem := "not set"
			if actual, set := labels[pair.Key]; set {
				problem = compareValue(actual, pair)
			}
			results = append(results, result{"metadata", "label " + pair.Key, problem})
		}
	}
	if test.Entrypoint != nil || test.Cmd != nil {
		if dockerfile == "" {
			return nil, errors.New("metadataTest entrypoint/cmd need -dockerfile")
		}
		declared, err := finalStage(dockerfile)
		if err != nil {
			return nil, err
		}
		if test.Entrypoint != nil {
			results = append(results, result{"metadata", "entrypoint", compareDeclared("ENTRYPOINT", declared, *test.Entrypoint)})
		}
		if test.Cmd != nil {
			results = append(results, result{"metadata", "cmd", compareDeclared("CMD", declared, *test.Cmd)})
		}
	}
	return results, nil
}

func compareValue(actual string, want envVar) string {
	if want.IsRegex {
		if regexp.MustCompile(want.Value).MatchString(actual) {
			return ""
		}
		return fmt.Sprintf("%q does not match /%s/", actual, want.Value)
	}
	if actual != want.Value {
		return fmt.Sprintf("%q, want %q", actual, want.Value)
	}
	return ""
}

// checkUser compares the process's user (the image's USER: a build step runs as it) with
// "uid", "uid:gid", "name" or "name:group".
func checkUser(want string) string {
	uid, gid := os.Getuid(), os.Getgid()
	wantUser, wantGroup, hasGroup := strings.Cut(want, ":")
	if problem := sameID("user", uid, wantUser, func(name string) (string, error) {
		found, err := user.Lookup(name)
		if err != nil {
			return "", err
		}
		return found.Uid, nil
	}); problem != "" {
		return problem
	}
	if hasGroup {
		return sameID("group", gid, wantGroup, func(name string) (string, error) {
			found, err := user.LookupGroup(name)
			if err != nil {
				return "", err
			}
			return found.Gid, nil
		})
	}
	return ""
}

func sameID(what string, actual int, want string, lookup func(string) (string, error)) string {
	wantID, err := strconv.Atoi(want)
	if err != nil {
		id, lookupErr := lookup(want)
		if lookupErr != nil {
			return fmt.Sprintf("%s %q: %v", what, want, lookupErr)
		}
		wantID, _ = strconv.Atoi(id)
	}
	if actual != wantID {
		return fmt.Sprintf("%s id %d, want %d (%s)", what, actual, wantID, want)
	}
	return ""
}

// finalStage returns the last ENTRYPOINT and CMD of a Dockerfile's final stage, as exec-form
// lists (the shell form becomes /bin/sh -c, as the Dockerfile frontend does).
func finalStage(path string) (map[string][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	declared := map[string][]string{}
	var logical strings.Builder
	flush := func() error {
		line := strings.TrimSpace(logical.String())
		logical.Reset()
		instruction, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instruction) {
		case "FROM":
			declared = map[string][]string{}
		case "ENTRYPOINT", "CMD":
			var value []string
			if strings.HasPrefix(rest, "[") {
				if err := json.Unmarshal([]byte(rest), &value); err != nil {
					return fmt.Errorf("%s: %s %s: %v", path, instruction, rest, err)
				}
			} else {
				value = []string{"/bin/sh", "-c", rest}
			}
			declared[strings.ToUpper(instruction)] = value
		}
		return nil
	}
	for _, raw := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && logical.Len() == 0) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			logical.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		logical.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return declared, nil
}

func compareDeclared(instruction string, declared map[string][]string, want []string) string {
	actual, found := declared[instruction]
	if !found {
		return fmt.Sprintf("no %s in the final stage of the image's Dockerfile (an inherited value can't be read in a build step)", instruction)
	}
	if !equal(actual, want) {
		got, _ := json.Marshal(actual)
		expected, _ := json.Marshal(want)
		return fmt.Sprintf("%s %s, want %s", instruction, got, expected)
	}
	return ""
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
