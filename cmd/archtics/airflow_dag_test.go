package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// dagCommand is an `archtics ...` command line of the example DAG, a
// one-line string literal there.
var dagCommand = regexp.MustCompile(`"(archtics [^"\n]*)"`)

// TestAirflowDAG reads examples/airflow/archtics_dag.py (no Python needed)
// and checks that every archtics command line in it names a command of
// newApp() and only flags that command (or the app, before the command)
// has, that every stage has its task, and that the stages driven by the
// logical time get Airflow's data_interval_end.
func TestAirflowDAG(t *testing.T) {
	b, err := os.ReadFile("../../examples/airflow/archtics_dag.py")
	if err != nil {
		t.Fatal(err)
	}
	lines := dagCommand.FindAllStringSubmatch(string(b), -1)
	if len(lines) == 0 {
		t.Fatal("no archtics command line found in the DAG")
	}
	app := newApp()
	ran := map[string][]string{} // command path → its command lines
	for _, m := range lines {
		line := m[1]
		// A Jinja template is one shell word once rendered.
		words := strings.Fields(regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAllString(line, "TEMPLATE"))
		path, err := checkCommandLine(app, words[1:])
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		ran[path] = append(ran[path], line)
		if !strings.Contains(line, "--log-format json") {
			t.Errorf("%s: logs should be JSON (--log-format json) for Airflow", line)
		}
		if strings.Contains(strings.ToLower(line), "token") || strings.Contains(line, "AWS_SECRET") {
			t.Errorf("%s: a secret on the command line (Airflow logs and shows it): pass it in the environment", line)
		}
	}
	for _, stage := range []string{"load-dump", "incremental", "realtime tick", "compact", "vacuum", "verify"} {
		if len(ran[stage]) == 0 {
			t.Errorf("the DAG has no task running archtics %s", stage)
		}
	}
	for stage, flag := range map[string]string{"incremental": "--until", "realtime tick": "--at"} {
		for _, line := range ran[stage] {
			if !regexp.MustCompile(regexp.QuoteMeta(flag) + ` \{\{ *data_interval_end\b`).MatchString(line) {
				t.Errorf("%s: want %s {{ data_interval_end ... }}, so a retry or backfill repeats the same interval", line, flag)
			}
		}
	}
}

// checkCommandLine walks the words after "archtics": the app's flags, the
// command (and subcommand) names, then the command's flags, each with its
// value unless it is a boolean. It returns the command's path.
func checkCommandLine(app *cli.App, words []string) (string, error) {
	i, err := checkFlags(app.Flags, words, 0)
	if err != nil {
		return "", err
	}
	cmds := app.Commands
	var path []string
	var cmd *cli.Command
	for i < len(words) && !strings.HasPrefix(words[i], "-") {
		next := findCommand(cmds, words[i])
		if next == nil {
			if cmd == nil {
				return "", fmt.Errorf("no command %q in archtics", words[i])
			}
			break
		}
		cmd, cmds = next, next.Subcommands
		path = append(path, words[i])
		i++
	}
	if cmd == nil {
		return "", fmt.Errorf("no command")
	}
	if len(cmd.Subcommands) > 0 && cmd.Action == nil {
		return "", fmt.Errorf("%q needs a subcommand", strings.Join(path, " "))
	}
	if i, err = checkFlags(cmd.Flags, words, i); err != nil {
		return "", fmt.Errorf("archtics %s: %v", strings.Join(path, " "), err)
	}
	if i < len(words) {
		return "", fmt.Errorf("archtics %s: unexpected argument %q", strings.Join(path, " "), words[i])
	}
	return strings.Join(path, " "), nil
}

// checkFlags consumes the flags at words[i:] that belong to flags, and
// returns where they end; an unknown flag is an error.
func checkFlags(flags []cli.Flag, words []string, i int) (int, error) {
	for i < len(words) && strings.HasPrefix(words[i], "-") {
		name, _, hasValue := strings.Cut(strings.TrimLeft(words[i], "-"), "=")
		idx := slices.IndexFunc(flags, func(f cli.Flag) bool { return slices.Contains(f.Names(), name) })
		if idx < 0 {
			return i, fmt.Errorf("no flag --%s", name)
		}
		i++
		if _, isBool := flags[idx].(*cli.BoolFlag); !isBool && !hasValue {
			if i >= len(words) {
				return i, fmt.Errorf("--%s needs a value", name)
			}
			i++
		}
	}
	return i, nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
