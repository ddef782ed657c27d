package command

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fuzzEng != nil {
		dir := fuzzEng.Dir()
		fuzzEng.Close()
		os.RemoveAll(dir)
	}
	os.Exit(code)
}
