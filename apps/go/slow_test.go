package main

import (
	"math/rand/v2"
	"testing"
)

func TestSeedRegexAndSampleUnchanged(t *testing.T) {
	if emailPattern != `^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$` {
		t.Errorf("regex changed: %s", emailPattern)
	}
	if badEmailSample != "rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n" {
		t.Errorf("sample changed: %s", badEmailSample)
	}
}

func TestCheckEmailBothModesAgree(t *testing.T) {
	cases := map[string]bool{
		badEmailSample:                    false,
		"rosamaria70@gmail.com":           true,
		"first.last@example.co.uk":        true,
		"ab-cd.e@mail-server.example.org": true,
		"a-b.c@example.org":               false, // too few repetitions in the local part
		"user_name@example.com":           true,
		"ab@example.com":                  false, // local part shorter than 3
		"abc@example":                     false, // no dot in the domain
		"abc@@example.com":                false,
		"abc@example..com":                false,
		"abc.@example.com":                false,
		".abc@example.com":                false,
		"abc@example.com.":                false,
		"abc def@example.com":             false,
		"":                                false,
		"@":                               false,
		"abc@":                            false,
		"abc@ex¿ample.com":                false,
	}
	for email, want := range cases {
		if got := checkEmail(email, 1, regexModeBad); got != want {
			t.Errorf("bad mode %q: %v, want %v", email, got, want)
		}
		if got := checkEmail(email, 1, regexModeFixed); got != want {
			t.Errorf("fixed mode %q: %v, want %v", email, got, want)
		}
	}
}

func TestCheckEmailRunsIterations(t *testing.T) {
	if checkEmail(badEmailSample, 0, regexModeBad) {
		t.Error("zero iterations must answer false")
	}
}

func TestRegexModeSet(t *testing.T) {
	var m regexMode
	if m.get() != regexModeBad {
		t.Fatal("default must be bad")
	}
	if !m.set(regexModeFixed) || m.get() != regexModeFixed {
		t.Error("set fixed")
	}
	if m.set("FIXED ") || m.set("") || m.get() != regexModeFixed {
		t.Error("invalid values must be refused and change nothing")
	}
	if !m.set(regexModeBad) || m.get() != regexModeBad {
		t.Error("set bad")
	}
}

// The default must make /slow take seconds; guard the figure the README
// gives against an accidental change.
func TestSlowDefaults(t *testing.T) {
	if defaultSlowIterations != 50000 || maxSlowIterations != 100000 || minSlowIterations != 1 {
		t.Errorf("defaults changed: %d %d..%d", defaultSlowIterations, minSlowIterations, maxSlowIterations)
	}
}

func BenchmarkCheckEmailBad(b *testing.B) {
	for b.Loop() {
		checkEmail(badEmailSample, 1, regexModeBad)
	}
}

func BenchmarkCheckEmailFixed(b *testing.B) {
	for b.Loop() {
		checkEmail(badEmailSample, 1, regexModeFixed)
	}
}

// The fixed check must decide exactly what the seed's regex decides: compare
// them on every string up to length 7 over a small alphabet that exercises
// each rule, and on random longer ones.
func TestValidEmailLinearEqualsRegex(t *testing.T) {
	alphabet := []string{"a", "1", "_", "-", ".", "@", "¿"}
	var walk func(prefix string, n int)
	checked := 0
	walk = func(prefix string, n int) {
		if got, want := validEmailLinear(prefix), emailRegex.MatchString(prefix); got != want {
			t.Fatalf("%q: linear %v, regex %v", prefix, got, want)
		}
		checked++
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			walk(prefix+c, n-1)
		}
	}
	walk("", 7)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		b := make([]byte, 0, 24)
		for n := r.IntN(24); n > 0; n-- {
			b = append(b, "ab1_-.@Z"[r.IntN(8)])
		}
		s := string(b)
		if got, want := validEmailLinear(s), emailRegex.MatchString(s); got != want {
			t.Fatalf("%q: linear %v, regex %v", s, got, want)
		}
	}
	t.Logf("%d exhaustive strings and 20000 random ones agree", checked)
}
