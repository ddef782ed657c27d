package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// kvServer is a fake RESP server that keeps what SET writes and answers
// GET from it; every unknownEvery-th SET (0: none) applies the write but
// answers walkerd's -UNKNOWN, and every SET first waits setDelay.
func kvServer(t *testing.T, unknownEvery int, setDelay time.Duration) string {
	var mu sync.Mutex
	data := map[string]string{}
	sets := 0
	return fakeServer(t, func(args []string) string {
		mu.Lock()
		defer mu.Unlock()
		switch strings.ToUpper(args[0]) {
		case "SET":
			time.Sleep(setDelay)
			data[args[1]] = args[2]
			sets++
			if unknownEvery > 0 && sets%unknownEvery == 0 {
				return "-UNKNOWN the outcome of this write is unknown: leadership lost while committing\r\n"
			}
			return "+OK\r\n"
		case "GET":
			v, ok := data[args[1]]
			if !ok {
				return "$-1\r\n"
			}
			return fmt.Sprintf("$%d\r\n%s\r\n", len(v), v)
		}
		return "+PONG\r\n"
	})
}

func TestRun_PrefillPrintsProgressLinesWhenStderrIsNotATerminal(t *testing.T) {
	defer func(d time.Duration) { lineEvery = d }(lineEvery)
	lineEvery = 100 * time.Millisecond
	addr := kvServer(t, 0, 2*time.Millisecond) // 400 keys: about 0.8 s of prefill
	out, errOut, err := bench("run", "--target", "slow="+addr, "-t", "get", "-r", "400", "-c", "2", "-n", "100", "--warmup", "0", "--json")
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	t.Logf("stderr:\n%s", errOut)
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) < 3 {
		t.Fatalf("%d progress lines during a prefill of about 0.8 s with a line every 0.1 s: %q", len(lines), errOut)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "slow: prefill ") || !strings.Contains(l, " of 400 keys (") || !strings.Contains(l, " keys/s") {
			t.Errorf("progress line %q: want \"slow: prefill N of 400 keys (P%%), R keys/s, ...\"", l)
		}
	}
	if strings.ContainsAny(errOut, "\r\x1b") {
		t.Errorf("terminal control characters on a stderr that is not a terminal: %q", errOut)
	}
}

func TestCountLine_SaysHowFarHowFastAndHowLongIsLeft(t *testing.T) {
	got := countLine("walkerd: prefill", "keys", 1_200_000, 10_000_000, 30*time.Second)
	want := "walkerd: prefill 1,200,000 of 10,000,000 keys (12%), 40,000 keys/s, about 3m40s left, 30s so far"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRun_UnknownOutcomeIsCountedAndReportedNotAnError(t *testing.T) {
	addr := kvServer(t, 7, 0)
	out, errOut, err := bench("run", "--target", addr, "-t", "set,get", "-r", "300", "-c", "2", "-P", "4", "-n", "700", "--warmup", "0", "--json")
	if err != nil {
		t.Fatalf("err = %v: -UNKNOWN replies must not abort the run or fail it\n%s\n%s", err, out, errOut)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	set, get := rep.Results[0], rep.Results[1]
	t.Logf("set: %d requests, %d ok, %d unknown, %d errors; notes %q", set.Requests, set.OK, set.Unknown, set.Errors, set.Notes)
	if set.Unknown != 100 || set.Errors != 0 || set.OK != 600 || len(set.ErrorsByKind) != 0 {
		t.Errorf("set: %d ok, %d unknown, %d errors %v: want 600 ok and 100 unknown (every 7th SET of the run), no errors", set.OK, set.Unknown, set.Errors, set.ErrorsByKind)
	}
	if want := float64(set.OK) / set.DurationS; set.OpsPerSec > want*1.001 {
		t.Errorf("ops/s %.0f counts more than the right replies (%.0f/s)", set.OpsPerSec, want)
	}
	notes := strings.Join(set.Notes, "\n")
	if !strings.Contains(notes, "prefill: 42 SETs of unknown outcome") || !strings.Contains(notes, "100 writes of unknown outcome") {
		t.Errorf("set notes %q: want the prefill's 42 and the test's 100 unknown outcomes named", set.Notes)
	}
	if get.Unknown != 0 || get.Errors != 0 || get.OK != 700 {
		t.Errorf("get after a prefill with unknown outcomes: %d ok, %d errors %v", get.OK, get.Errors, get.ErrorsByKind)
	}
	if errors.Is(err, errResultErrors) {
		t.Error("unknown outcomes counted as errors in the exit status")
	}

	var text strings.Builder
	rep.writeText(&text)
	var row string
	for _, l := range strings.Split(text.String(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "unknown") {
			row = l
			break
		}
	}
	if !strings.Contains(row, "100") {
		t.Errorf("text report has no unknown row with 100:\n%s", text.String())
	}
}

func TestPlotTitle_NamesTargetsClientsPipelineAndValueSize(t *testing.T) {
	w := &workload{mode: "server", tests: []string{"set", "get"}, clients: 50, threads: 1, pipeline: 16, keys: 100000, dist: "uniform",
		valueSize: 100, requests: 2000000, setWeight: 1, getWeight: 10}
	r := newReport("server", w, []target{{name: "redis", addr: "127.0.0.1:6379"}, {name: "walkerd", addr: "127.0.0.1:7379"}}, 21)
	title := strings.Join(plotTitle(r), "\n")
	t.Logf("\n%s", title)
	for _, want := range []string{"walkerbench run: set, get", "50 clients", "pipeline 16", "100 B values",
		"2 targets: redis=127.0.0.1:6379, walkerd=127.0.0.1:7379", "2,000,000 requests per test", "closed loop"} {
		if !strings.Contains(title, want) {
			t.Errorf("plot title lacks %q", want)
		}
	}
}
