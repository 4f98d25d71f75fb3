package main

// slow.go: the seed's CPU hot spot. checkEmail runs the seed's badly written
// email regex over the seed's crafted sample again and again.
//
// How long /slow takes, and why the default is not the seed's 5,000:
// Go's regexp package never backtracks exponentially (it guarantees time
// linear in the input), so one match of the sample costs tens of
// microseconds, not the milliseconds of a backtracking engine. Measured on
// this project's 2-core build machine: ~25 us per MatchString with a core to
// itself, ~50 us when the machine is busy, all in
// regexp.(*Regexp).tryBacktrack / (*bitState).shouldVisit; the seed's 5,000
// iterations would take 0.1-0.25 s. To keep the seed's story ("/slow takes
// seconds, checkEmail -> regexp is ~99% of the span's flame graph") the
// default is 50,000 iterations: ~1.3 s there idle, up to ~3.5 s busy.
// SLOW_ITERATIONS changes the default and ?iterations=N overrides it per
// request, both within 1..100000, so one request costs at most ~2.5-5 s.

import (
	"regexp"
	"sync/atomic"
)

// The seed's regex and sample string, unchanged.
const (
	emailPattern   = `^(\w+([-.][A-Za-z0-9]+)*){3,18}@\w+([-.][A-Za-z0-9]+)*\.\w+([-.][A-Za-z0-9]+)*$`
	badEmailSample = "rosamariachoccelahuaaranda70@gmail.comnnbbb.bbNG.bbb.n¿.?n"
)

const (
	defaultSlowIterations = 50000
	minSlowIterations     = 1
	maxSlowIterations     = 100000
)

var emailRegex = regexp.MustCompile(emailPattern)

// Regex modes: "bad" runs the seed's regex; "fixed" is the tour's fix, a
// single linear scan that gives the same answer for ordinary addresses
// (and for the sample) without the regex engine.
const (
	regexModeBad   = "bad"
	regexModeFixed = "fixed"
)

// regexMode is switched at run time by POST /admin/regex?mode=fixed|bad.
type regexMode struct{ fixed atomic.Bool }

func (m *regexMode) get() string {
	if m.fixed.Load() {
		return regexModeFixed
	}
	return regexModeBad
}

// set accepts "bad" or "fixed" and reports whether the value was valid.
func (m *regexMode) set(mode string) bool {
	switch mode {
	case regexModeBad:
		m.fixed.Store(false)
	case regexModeFixed:
		m.fixed.Store(true)
	default:
		return false
	}
	return true
}

// checkEmail validates email iterations times and returns the last answer.
// It is the function the seed's flame graph points at: in "bad" mode its
// time is spent in regexp.(*Regexp).MatchString underneath it.
//
//go:noinline
func checkEmail(email string, iterations int, mode string) bool {
	valid := false
	for i := 0; i < iterations; i++ {
		if mode == regexModeFixed {
			valid = validEmailLinear(email)
		} else {
			valid = emailRegex.MatchString(email)
		}
	}
	return valid
}

// validEmailLinear is the "fix": the same language as emailPattern,
// decided in one left-to-right pass without a regex engine (and so
// without the engine's per-character state bookkeeping).
//
// What emailPattern accepts, spelled out:
//   - local part: (\w+([-.][A-Za-z0-9]+)*){3,18} is a word character, then
//     word characters or '-'/'.' each followed by a letter or digit; a new
//     repetition can only start between two adjacent word characters, so
//     three or more repetitions need at least two such adjacent pairs (18 is
//     never the limit: repetitions can be merged);
//   - one '@';
//   - domain: two parts of the form \w+([-.][A-Za-z0-9]+)* joined by a '.',
//     so a run of word characters after a separator holds an '_' only when
//     that separator is the joining '.', which can happen once.
func validEmailLinear(s string) bool {
	at := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			if at >= 0 {
				return false
			}
			at = i
		}
	}
	if at < 0 {
		return false
	}
	return validLocalPart(s[:at]) && validDomain(s[at+1:])
}

// validRuns checks the local part's shape: starts with a word character,
// otherwise word characters and '-'/'.' separators, each separator followed
// by a letter or digit.
func validRuns(p string) bool {
	if p == "" || !isWordByte(p[0]) {
		return false
	}
	for i := 1; i < len(p); i++ {
		c := p[i]
		if isWordByte(c) {
			continue
		}
		if (c != '-' && c != '.') || i+1 >= len(p) || !isAlnumByte(p[i+1]) {
			return false
		}
	}
	return true
}

func validLocalPart(p string) bool {
	if !validRuns(p) {
		return false
	}
	pairs := 0
	for i := 0; i+1 < len(p); i++ {
		if isWordByte(p[i]) && isWordByte(p[i+1]) {
			pairs++
		}
	}
	return pairs >= 2
}

func validDomain(p string) bool {
	if p == "" || !isWordByte(p[0]) {
		return false
	}
	// Walk the runs of word characters after each separator. A run holding
	// an '_' can only follow the joining '.', so there may be one such run
	// at most; without one, any '.' can join the two parts.
	dots, underscoreRuns := 0, 0
	for i := 1; i < len(p); i++ {
		c := p[i]
		if isWordByte(c) {
			continue
		}
		if c != '-' && c != '.' || i+1 >= len(p) || !isWordByte(p[i+1]) {
			return false
		}
		if c == '.' {
			dots++
		}
		for j := i + 1; j < len(p) && isWordByte(p[j]); j++ {
			if p[j] == '_' {
				if c != '.' {
					return false
				}
				underscoreRuns++
				break
			}
		}
	}
	return dots > 0 && underscoreRuns <= 1
}

func isAlnumByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isWordByte(c byte) bool { return isAlnumByte(c) || c == '_' }
