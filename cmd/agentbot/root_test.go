package main

import (
	"strings"
	"testing"
)

func TestHelpVersionAndCompletion(t *testing.T) {
	tm := newTerm(t, nil)
	r := tm.ok("help")
	for _, want := range []string{"Exit codes:", "5  payment required (402)", "serve", "skills", "plugins", "completion"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help does not show %q", want)
		}
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		if r := tm.ok(args...); r.stdout != "agentbot dev\n" {
			t.Errorf("%v printed %q", args, r.stdout)
		}
	}
	if v := jsonOf[map[string]string](t, tm.ok("version", "--json")); v["version"] != "dev" || !strings.HasPrefix(v["go"], "go") {
		t.Errorf("version --json = %v", v)
	}
	for shell, marker := range map[string]string{"bash": "__start_agentbot", "zsh": "#compdef agentbot",
		"fish": "complete -c agentbot", "powershell": "Register-ArgumentCompleter"} {
		if r := tm.ok("completion", shell); !strings.Contains(r.stdout, marker) {
			t.Errorf("completion %s does not contain %q", shell, marker)
		}
	}
	tm.expect(exitUsage, "completion", "tcsh")
	if r := tm.ok("keys"); !strings.Contains(r.stdout, "create") {
		t.Errorf("keys alone shows %q; want its help", r.stdout)
	}
}
