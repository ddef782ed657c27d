package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// writePlot draws the report as a PNG: a row per test, with the latency
// distribution on the left (latency by percentile, both axes
// logarithmic, as HdrHistogram draws it) and throughput over time on the
// right, one line per target in both.
func writePlot(path string, r *Report) error {
	tests := r.Workload.Tests
	if len(tests) == 0 || len(r.Results) == 0 {
		return fmt.Errorf("plot: nothing to draw")
	}
	rows := make([][]*plot.Plot, len(tests))
	for i, test := range tests {
		lat, tput := plot.New(), plot.New()
		lat.Title.Text = test + ": latency by percentile"
		lat.X.Label.Text = "percentile"
		lat.Y.Label.Text = "latency"
		lat.Y.Scale = plot.LogScale{}
		lat.Y.Tick.Marker = durationTicks{}
		lat.X.Tick.Marker = percentileTicks{}
		tput.Title.Text = test + ": throughput"
		tput.X.Label.Text = "seconds"
		tput.Y.Label.Text = "ops/s"
		tput.Y.Tick.Marker = countTicks{}
		tput.X.Tick.Marker = secondsTicks{}
		tput.Y.Min = 0
		for _, p := range []*plot.Plot{lat, tput} {
			p.Legend.Top = true
			p.Legend.Left = p == lat
			p.Add(plotter.NewGrid())
		}
		maxX, minY, maxY, maxOps := 1.0, math.Inf(1), 0.0, 0.0
		for ti, tg := range r.Targets {
			res := find(r.Results, tg.Name, test)
			if res == nil {
				continue
			}
			color := plotutil.Color(ti)
			dash := plotutil.Dashes(ti)
			if pts := percentilePoints(res); len(pts) > 0 {
				l, err := plotter.NewLine(pts)
				if err != nil {
					return fmt.Errorf("plot: %w", err)
				}
				l.Color, l.Width, l.Dashes = color, vg.Points(1.5), dash
				lat.Add(l)
				lat.Legend.Add(tg.Name, l)
				for _, p := range pts {
					maxX, minY, maxY = math.Max(maxX, p.X), math.Min(minY, p.Y), math.Max(maxY, p.Y)
				}
			}
			if len(res.Timeline) > 0 {
				pts := make(plotter.XYs, 0, len(res.Timeline)+1)
				for _, s := range res.Timeline {
					pts = append(pts, plotter.XY{X: s.T, Y: s.OpsPerSec})
					maxOps = math.Max(maxOps, s.OpsPerSec)
				}
				l, err := plotter.NewLine(pts)
				if err != nil {
					return fmt.Errorf("plot: %w", err)
				}
				l.Color, l.Width, l.Dashes = color, vg.Points(1.5), dash
				tput.Add(l)
				tput.Legend.Add(tg.Name, l)
			}
		}
		lat.X.Min, lat.X.Max = 0, math.Ceil(maxX)
		if maxY > 0 {
			// Room above and below keeps the curves off the frame, and
			// the legend off the curves.
			lat.Y.Min, lat.Y.Max = minY/1.5, maxY*3
		}
		tput.Y.Max = maxOps * 1.25
		rows[i] = []*plot.Plot{lat, tput}
	}

	// A band at the top names the run; the charts fill the rest.
	const width, rowHeight, titleHeight = 1200, 420, 70
	height := rowHeight*float64(len(rows)) + titleHeight
	img := vgimg.NewWith(vgimg.UseWH(vg.Points(width), vg.Points(height)), vgimg.UseDPI(96))
	dc := draw.New(img)
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: vg.Points(width), Y: 0}, {X: vg.Points(width), Y: vg.Points(height)}, {X: 0, Y: vg.Points(height)}})
	y := vg.Points(height - 10)
	for i, line := range plotTitle(r) {
		size := vg.Points(11)
		if i == 0 {
			size = 16
		}
		sty := text.Style{Color: color.Black, Font: font.From(plot.DefaultFont, size), XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		dc.FillText(sty, vg.Point{X: vg.Points(width / 2), Y: y}, line)
		y -= size + 6
	}
	tiles := draw.Tiles{Rows: len(rows), Cols: 2, PadTop: 10, PadBottom: 10, PadLeft: 10, PadRight: 20, PadX: 30, PadY: 30}
	canvases := plot.Align(rows, tiles, draw.Crop(dc, 0, 0, 0, -titleHeight))
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(canvases[i][j])
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// plotTitle is the heading of the plot, a line each: what ran with the
// parameters that shape the figures (clients, pipeline depth, value
// size), the targets, and the rest of the workload.
func plotTitle(r *Report) []string {
	w := r.Workload
	mode := map[string]string{"server": "run", "engine": "engine"}[r.Mode]
	head := []string{"walkerbench " + mode + ": " + strings.Join(w.Tests, ", "), plural(w.Clients, "client")}
	if r.Mode == "server" {
		head = append(head, fmt.Sprintf("pipeline %d", w.Pipeline))
	}
	head = append(head, fmt.Sprintf("%d B values", w.ValueSize))
	var targets []string
	for _, t := range r.Targets {
		if t.Address == "" || t.Address == t.Name || r.Mode == "engine" {
			targets = append(targets, t.Name)
		} else {
			targets = append(targets, t.Name+"="+t.Address)
		}
	}
	dist := w.Distribution
	if w.ZipfS > 0 {
		dist += fmt.Sprintf(" (s=%g)", w.ZipfS)
	}
	rest := []string{fmt.Sprintf("%s keys %s", commas(int64(w.Keys)), dist), fmt.Sprintf("%d B keys", w.KeySize)}
	if w.Requests > 0 {
		rest = append(rest, commas(w.Requests)+" requests per test")
	} else {
		rest = append(rest, fmt.Sprintf("%gs per test", w.DurationS))
	}
	if w.OpenLoop {
		rest = append(rest, fmt.Sprintf("open loop at %s requests/s", commas(int64(w.Rate))))
	} else {
		rest = append(rest, "closed loop")
	}
	if w.Level != "" {
		rest = append(rest, "reads LEVELGET "+w.Level)
	}
	rest = append(rest, plural(w.Threads, "thread"), r.Started.Format("2006-01-02 15:04 UTC"))
	return []string{
		strings.Join(head, " · "),
		plural(len(targets), "target") + ": " + strings.Join(targets, ", "),
		strings.Join(rest, " · "),
	}
}

func find(rs []*Result, target, test string) *Result {
	for _, r := range rs {
		if r.Target == target && r.Test == test {
			return r
		}
	}
	return nil
}

// percentilePoints maps the latency distribution to x = -log10(1 - p),
// so 90% is at 1, 99% at 2, 99.9% at 3; the maximum sits at the last
// request's place, log10(count).
func percentilePoints(res *Result) plotter.XYs {
	var pts plotter.XYs
	n := float64(res.Latency.Count)
	if n == 0 {
		return nil
	}
	for _, p := range res.Distribution {
		q := p.Percentile / 100
		x := math.Log10(n)
		if q < 1 {
			x = math.Min(-math.Log10(1-q), x)
		}
		pts = append(pts, plotter.XY{X: x, Y: math.Max(p.Ms, 1e-6)})
	}
	return pts
}

// percentileTicks labels x = -log10(1-p) with percentiles.
type percentileTicks struct{}

func (percentileTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%", "99.99999%"}
	for x := 0; x < len(labels) && float64(x) <= max; x++ {
		ts = append(ts, plot.Tick{Value: float64(x), Label: labels[x]})
	}
	return ts
}

// durationTicks marks a logarithmic axis of milliseconds at 1, 2 and 5
// times powers of ten, labelled in a unit that fits.
type durationTicks struct{}

func (durationTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	if min <= 0 || max <= 0 {
		return ts
	}
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: fmtTick(v)})
		}
	}
	if len(ts) > 12 {
		for i := range ts {
			if math.Abs(math.Log10(ts[i].Value)-math.Round(math.Log10(ts[i].Value))) > 1e-9 {
				ts[i].Label = ""
			}
		}
	}
	return ts
}

// fmtTick writes a tick's milliseconds in a unit that fits, without
// trailing zeros: 500 µs, 2 ms, 1 s.
func fmtTick(msec float64) string {
	ns := msec * 1e6
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.3g ns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.3g µs", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.3g ms", ns/1e6)
	}
	return fmt.Sprintf("%.3g s", ns/1e9)
}

// secondsTicks marks a time axis every 1, 2 or 5 times a power of ten
// seconds, about five to ten marks.
type secondsTicks struct{}

func (secondsTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if span <= 0 {
		return []plot.Tick{{Value: lo, Label: fmt.Sprintf("%g", lo)}}
	}
	step := math.Pow(10, math.Floor(math.Log10(span)))
	for _, m := range []float64{0.1, 0.2, 0.5, 1} {
		if span/(step*m) <= 10 {
			step *= m
			break
		}
	}
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	var ts []plot.Tick
	for k := math.Ceil(lo / step); k*step <= hi+step/1e6; k++ {
		ts = append(ts, plot.Tick{Value: k * step, Label: strconv.FormatFloat(k*step, 'f', decimals, 64)})
	}
	return ts
}

// countTicks marks a linear axis with k and M suffixes.
type countTicks struct{}

func (countTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label == "" {
			continue
		}
		v := ts[i].Value
		switch {
		case math.Abs(v) >= 1e6:
			ts[i].Label = fmt.Sprintf("%gM", v/1e6)
		case math.Abs(v) >= 1e3:
			ts[i].Label = fmt.Sprintf("%gk", v/1e3)
		default:
			ts[i].Label = fmt.Sprintf("%g", v)
		}
	}
	return ts
}
