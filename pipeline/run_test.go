package pipeline

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRunStopsAtFirstFailure(t *testing.T) {
	var ran []string
	step := func(name string, err error) Step {
		return Step{Name: name, Run: func(context.Context) (string, error) {
			ran = append(ran, name)
			return name + " ok", err
		}}
	}
	boom := errors.New("boom")
	tests := []struct {
		name    string
		steps   []Step
		wantRan string
		wantErr string
	}{
		{"all succeed", []Step{step("a", nil), step("b", nil)}, "a b", ""},
		{"second fails", []Step{step("a", nil), step("b", boom), step("c", nil)}, "a b", "step 2/3 b: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran = nil
			res, err := Run(context.Background(), nil, tt.steps...)
			if got := strings.Join(ran, " "); got != tt.wantRan {
				t.Fatalf("ran %q, want %q", got, tt.wantRan)
			}
			if tt.wantErr == "" {
				if err != nil || len(res) != len(tt.steps) || res[0].Summary != "a ok" {
					t.Fatalf("results %+v, err %v", res, err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, boom) {
				t.Fatalf("err = %v, want %q wrapping boom", err, tt.wantErr)
			}
		})
	}
}
