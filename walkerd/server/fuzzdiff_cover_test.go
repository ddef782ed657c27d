package server

import (
	"os"
	"testing"

	"github.com/walkerdb/walkerdb/walkerd/command"
)

// TestFuzzDifferential_Coverage lists (with WALKERD_FUZZDIFF_COVERAGE=1)
// the data commands walkerd registers that the fuzzer does not generate,
// and the generated ones walkerd lacks.
func TestFuzzDifferential_Coverage(t *testing.T) {
	if os.Getenv("WALKERD_FUZZDIFF_COVERAGE") == "" {
		t.Skip("WALKERD_FUZZDIFF_COVERAGE is not set")
	}
	gen := map[string]bool{}
	for _, s := range fuzzAllSpecs {
		gen[s.name] = true
		if !fzRegistered(s.name) {
			t.Logf("generator without a walkerd command: %s", s.name)
		}
	}
	for _, s := range command.Specs() {
		name := s.Name
		if s.Parent != nil {
			name = s.Parent.Name + "|" + s.Name
		}
		if !gen[name] && s.Flags&command.FlagInternal == 0 {
			t.Logf("walkerd command not generated: %s", name)
		}
	}
}
