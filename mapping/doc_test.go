package mapping

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/socialrx/socialrx"
)

var update = flag.Bool("update", false, "rewrite the generated tables of docs/mapping.md")

const mappingDoc = "../docs/mapping.md"

// TestMappingDoc keeps docs/mapping.md in step with the Go tables: every
// block between "<!-- BEGIN GENERATED: name -->" and "<!-- END GENERATED -->"
// must equal what docTables prints for name. Rewrite them with
// go test ./mapping -run TestMappingDoc -update.
func TestMappingDoc(t *testing.T) {
	old, err := os.ReadFile(mappingDoc)
	if err != nil {
		t.Fatal(err)
	}
	tables := docTables()
	re := regexp.MustCompile(`(?s)(<!-- BEGIN GENERATED: ([a-z0-9-]+) -->\n).*?(<!-- END GENERATED -->)`)
	found := map[string]bool{}
	got := re.ReplaceAllStringFunc(string(old), func(m string) string {
		sub := re.FindStringSubmatch(m)
		name := sub[2]
		found[name] = true
		body, ok := tables[name]
		if !ok {
			t.Errorf("docs/mapping.md has an unknown generated block %q", name)
			return m
		}
		return sub[1] + body + sub[3]
	})
	for name := range tables {
		if !found[name] {
			t.Errorf("docs/mapping.md lacks the block <!-- BEGIN GENERATED: %s -->", name)
		}
	}
	if got == string(old) {
		return
	}
	if *update {
		if err := os.WriteFile(mappingDoc, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/mapping.md differs from the Go tables; run go test ./mapping -run TestMappingDoc -update and review the diff")
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func table(header []string, rows [][]string) string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i := range r {
			r[i] = cell(r[i])
		}
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

func ruleText(it screeningItem) string {
	switch it.Rule {
	case ruleAnswer:
		return "answer"
	case ruleSumAtLeast:
		return fmt.Sprintf("sum of %s >= %g", it.Group, it.Threshold)
	case ruleValueAtLeast:
		return fmt.Sprintf("value >= %g", it.Threshold)
	case ruleProductBelow:
		return fmt.Sprintf("product of %s < %g", it.Group, it.Threshold)
	}
	return "not scored"
}

// docTables prints every Go table as a markdown table, by block name.
func docTables() map[string]string {
	out := map[string]string{}

	var rows [][]string
	for _, p := range screeningPanels {
		rows = append(rows, []string{p.Code, systemLOINC, p.Display, string(p.Instrument), p.Source})
	}
	for _, q := range screeningQuestionnaires {
		rows = append(rows, []string{q.URL, "Questionnaire", "", string(q.Instrument), q.Source})
	}
	out["panels"] = table([]string{"code", "system", "display", "instrument", "source"}, rows)

	rows = nil
	for _, it := range screeningItems {
		rows = append(rows, []string{string(it.Instrument), it.Code, it.Display, string(it.Domain), ruleText(it), it.Source})
	}
	out["items"] = table([]string{"instrument", "item (LOINC)", "display", "domain", "positive rule", "source"}, rows)

	rows = nil
	for _, it := range screeningItems {
		for _, a := range it.Answers {
			pos := "no"
			if it.Rule == ruleSumAtLeast {
				pos = fmt.Sprintf("score %d", a.Score)
			} else if a.Positive {
				pos = "yes"
			}
			d := string(it.Domain)
			if a.Domain != "" {
				d = string(a.Domain)
			}
			rows = append(rows, []string{string(it.Instrument), it.Code, a.Code, a.Display, pos, d})
		}
	}
	out["answers"] = table([]string{"instrument", "item", "answer (LOINC)", "display", "positive", "domain"}, rows)

	cond := func(system string, rs []conditionCode) string {
		var rows [][]string
		for _, r := range rs {
			rows = append(rows, []string{r.Code, system, r.Display, string(r.Domain), r.Source})
		}
		return table([]string{"code", "system", "display", "domain", "source"}, rows)
	}
	out["icd10"] = cond("ICD-10 / -CM / -CA", icd10Codes)
	out["snomed"] = cond(systemSNOMED, snomedCodes)
	out["sdohcc"] = cond("SDOHCC-CodeSystemTemporaryCodes", sdohccCodes)

	rows = nil
	for _, c := range socialCategories {
		rows = append(rows, []string{c.Code, c.System, c.Display, string(socialrx.DomainUnspecified) + " unless a code decides", c.Source})
	}
	out["categories"] = table([]string{"code", "system", "display", "domain", "source"}, rows)

	rows = nil
	for _, s := range icd10Systems {
		rows = append(rows, []string{s})
	}
	out["icd10-systems"] = table([]string{"ICD-10 system URI accepted"}, rows)

	rows = nil
	for _, tm := range terminologies() {
		for _, c := range tm.Concepts {
			rows = append(rows, []string{c.Code, socialrx.CodeSystemBase + tm.Name, c.Display})
		}
	}
	out["codesystems"] = table([]string{"code", "system", "display"}, rows)
	return out
}
