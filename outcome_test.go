package socialrx

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecideOutcome(t *testing.T) {
	promis := []int{3, 3, 4, 2, 5, 4, 7, 4, 3, 2} // physical 4+4+2+4 = 14, mental 3+2+5+2 = 12
	tests := []struct {
		name string
		in   FollowUpAnswers
		want Outcome
	}{
		{"better, keep going", FollowUpAnswers{Pursued: PursuedYes, Wellbeing: WellbeingBetter, NextStep: NextKeepGoing},
			Outcome{GoalAchievement: GoalImproving}},
		{"better, done: achieved and completed", FollowUpAnswers{Pursued: PursuedYes, Wellbeing: WellbeingBetter, NextStep: NextDone},
			Outcome{GoalAchievement: GoalAchieved, GoalCompleted: true}},
		{"same, done: completed without achievement", FollowUpAnswers{Pursued: PursuedPartly, Wellbeing: WellbeingSame, NextStep: NextDone},
			Outcome{GoalAchievement: GoalNoChange, GoalCompleted: true}},
		{"worse, try an alternative", FollowUpAnswers{Pursued: PursuedNo, Barriers: []Barrier{BarrierCost}, Wellbeing: WellbeingWorse, NextStep: NextTryAlternative},
			Outcome{GoalAchievement: GoalWorsening, Alternative: true}},
		{"no well-being answer leaves the Goal, more help", FollowUpAnswers{Pursued: PursuedNo, NextStep: NextMoreHelp},
			Outcome{MoreHelp: true}},
		{"scales scored", FollowUpAnswers{Pursued: PursuedYes, NextStep: NextKeepGoing, UCLA3: []int{1, 2, 3}, PROMIS: promis},
			Outcome{UCLA3Total: 6, UCLA3OK: true, PROMISPhysical: 14, PROMISMental: 12, PROMISOK: true}},
		{"incomplete scales not scored", FollowUpAnswers{Pursued: PursuedYes, NextStep: NextKeepGoing, UCLA3: []int{1, 2}, PROMIS: promis[:9]},
			Outcome{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Answers = tt.in
			if diff := cmp.Diff(tt.want, DecideOutcome(tt.in)); diff != "" {
				t.Errorf("DecideOutcome (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUCLA3Score(t *testing.T) {
	tests := []struct {
		items []int
		total int
		ok    bool
	}{
		{[]int{1, 1, 1}, 3, true},
		{[]int{3, 3, 3}, 9, true},
		{[]int{2, 1, 3}, 6, true},
		{[]int{0, 1, 1}, 0, false},
		{[]int{4, 1, 1}, 0, false},
		{[]int{1, 1}, 0, false},
		{nil, 0, false},
	}
	for _, tt := range tests {
		total, ok := UCLA3Score(tt.items)
		if total != tt.total || ok != tt.ok {
			t.Errorf("UCLA3Score(%v) = %d, %v; want %d, %v", tt.items, total, ok, tt.total, tt.ok)
		}
	}
}

func TestPROMISPainScore(t *testing.T) {
	want := map[int]int{0: 5, 1: 4, 2: 4, 3: 4, 4: 3, 5: 3, 6: 3, 7: 2, 8: 2, 9: 2, 10: 1}
	for pain := -1; pain <= 11; pain++ {
		got, ok := PROMISPainScore(pain)
		w, wok := want[pain]
		if got != w || ok != wok {
			t.Errorf("PROMISPainScore(%d) = %d, %v; want %d, %v", pain, got, ok, w, wok)
		}
	}
}

func TestPROMISScores(t *testing.T) {
	tests := []struct {
		name             string
		items            []int
		physical, mental int
		ok               bool
	}{
		{"best", []int{5, 5, 5, 5, 5, 5, 0, 5, 5, 5}, 20, 20, true},
		{"worst", []int{1, 1, 1, 1, 1, 1, 10, 1, 1, 1}, 4, 4, true},
		{"physical items only move physical", []int{1, 1, 5, 1, 1, 5, 0, 5, 1, 1}, 20, 4, true},
		{"mental items only move mental", []int{1, 5, 1, 5, 5, 1, 10, 1, 1, 5}, 4, 20, true},
		{"pain out of range", []int{3, 3, 3, 3, 3, 3, 11, 3, 3, 3}, 0, 0, false},
		{"item out of range", []int{3, 3, 3, 3, 3, 3, 3, 3, 3, 6}, 0, 0, false},
		{"nine items", []int{3, 3, 3, 3, 3, 3, 3, 3, 3}, 0, 0, false},
	}
	for _, tt := range tests {
		p, m, ok := PROMISScores(tt.items)
		if p != tt.physical || m != tt.mental || ok != tt.ok {
			t.Errorf("%s: PROMISScores = %d, %d, %v; want %d, %d, %v", tt.name, p, m, ok, tt.physical, tt.mental, tt.ok)
		}
	}
}
