package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"
	"time"

	"github.com/socialrx/socialrx"
)

// The program chart is a hand-written SVG (text/template): a horizontal
// bar chart with, per program, the pursued rate and the well-being
// improved rate. Two bar series on a 0-100% axis need no chart library;
// the template keeps the output small, stable (testable) and readable
// without JavaScript.

// chartBar is one bar: a rate as a width, and its label.
type chartBar struct {
	Width float64 // px
	Label string  // "62% (31/50)" or "no answers"
	Has   bool
}

// chartRow is one program.
type chartRow struct {
	Y                 float64
	Label             string
	Pursued, Improved chartBar
}

type chartData struct {
	Title, Desc         string
	Width, Height, Left float64
	Plot                float64 // width of the bar area
	Rows                []chartRow
	Ticks               []chartTick
	AxisTop, AxisBottom float64
	LegendY             float64
	PursuedColor        string
	ImprovedColor       string
}

type chartTick struct {
	X     float64
	Label string
}

const (
	chartLeft     = 240.0 // label column
	chartPlot     = 420.0
	chartRowH     = 46.0
	chartTop      = 70.0
	chartBarH     = 16.0
	pursuedColor  = "#1f6fb4"
	improvedColor = "#2e8b57"
)

var chartTmpl = template.Must(template.New("chart").Funcs(template.FuncMap{
	"esc": func(s string) string {
		var b strings.Builder
		_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
		return b.String()
	},
	"add": func(a, b float64) float64 { return a + b },
	"f":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" width="{{f .Width}}" height="{{f .Height}}" viewBox="0 0 {{f .Width}} {{f .Height}}" role="img" aria-labelledby="title desc" font-family="sans-serif" font-size="13">
<title id="title">{{esc .Title}}</title>
<desc id="desc">{{esc .Desc}}</desc>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="26" font-size="16" font-weight="bold">{{esc .Title}}</text>
<rect x="{{f .Left}}" y="{{f .LegendY}}" width="12" height="12" fill="{{.PursuedColor}}"/><text x="{{f (add .Left 18)}}" y="{{f (add .LegendY 11)}}">Pursued</text>
<rect x="{{f (add .Left 100)}}" y="{{f .LegendY}}" width="12" height="12" fill="{{.ImprovedColor}}"/><text x="{{f (add .Left 118)}}" y="{{f (add .LegendY 11)}}">Well-being improved</text>
{{- range .Ticks}}
<line x1="{{f .X}}" y1="{{f $.AxisTop}}" x2="{{f .X}}" y2="{{f $.AxisBottom}}" stroke="#dddddd"/><text x="{{f .X}}" y="{{f (add $.AxisBottom 16)}}" text-anchor="middle" fill="#555555">{{.Label}}</text>
{{- end}}
{{- range .Rows}}
<g>
<text x="{{f (add $.Left -10)}}" y="{{f (add .Y 21)}}" text-anchor="end">{{esc .Label}}</text>
<rect x="{{f $.Left}}" y="{{f (add .Y 4)}}" width="{{f .Pursued.Width}}" height="16" fill="{{$.PursuedColor}}"><title>Pursued: {{esc .Pursued.Label}}</title></rect>
<text x="{{f (add $.Left (add .Pursued.Width 6))}}" y="{{f (add .Y 17)}}" font-size="11" fill="#333333">{{esc .Pursued.Label}}</text>
<rect x="{{f $.Left}}" y="{{f (add .Y 22)}}" width="{{f .Improved.Width}}" height="16" fill="{{$.ImprovedColor}}"><title>Well-being improved: {{esc .Improved.Label}}</title></rect>
<text x="{{f (add $.Left (add .Improved.Width 6))}}" y="{{f (add .Y 35)}}" font-size="11" fill="#333333">{{esc .Improved.Label}}</text>
</g>
{{- end}}
</svg>
`))

// writeChart writes the SVG bar chart of rep's programs.
func writeChart(w io.Writer, rep *socialrx.ProgramReport) error {
	d := chartData{
		Title: "Pursued and well-being improved, by program",
		Desc: fmt.Sprintf("Prescriptions authored %s to %s (end exclusive): for each program, the share of people followed up who pursued it, and the share who said their well-being was better.",
			rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly)),
		Left: chartLeft, Plot: chartPlot, Width: chartLeft + chartPlot + 130, LegendY: 40,
		PursuedColor: pursuedColor, ImprovedColor: improvedColor, AxisTop: chartTop,
	}
	bar := func(n, den int) chartBar {
		if den == 0 {
			return chartBar{Label: "no answers"}
		}
		r := float64(n) / float64(den)
		return chartBar{Width: r * chartPlot, Label: fmt.Sprintf("%.0f%% (%d/%d)", 100*r, n, den), Has: true}
	}
	for i, st := range rep.Programs {
		label := groupLabel(st, noProgram)
		if len([]rune(label)) > 34 {
			label = string([]rune(label)[:33]) + "…"
		}
		d.Rows = append(d.Rows, chartRow{Y: chartTop + float64(i)*chartRowH, Label: label,
			Pursued: bar(st.Pursued, st.FollowedUp), Improved: bar(st.Improved, st.WellbeingN)})
	}
	d.AxisBottom = chartTop + float64(max(len(d.Rows), 1))*chartRowH
	d.Height = d.AxisBottom + 30
	for p := 0; p <= 100; p += 25 {
		d.Ticks = append(d.Ticks, chartTick{X: chartLeft + float64(p)/100*chartPlot, Label: fmt.Sprintf("%d%%", p)})
	}
	return chartTmpl.Execute(w, d)
}

// writeChartFile writes the chart to path.
func writeChartFile(path string, rep *socialrx.ProgramReport) error {
	var b bytes.Buffer
	if err := writeChart(&b, rep); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write chart: %w", err)
	}
	return nil
}
