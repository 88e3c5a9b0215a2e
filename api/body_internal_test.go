package api

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestPyFloat: floats as Python's repr writes them (the values printed by
// Python 3.11's repr).
func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", math.Copysign(0, -1): "-0.0", 2000: "2000.0", 1e4: "10000.0", -1: "-1.0", 1e-05: "1e-05",
		0.0001: "0.0001", 5.5: "5.5", 1e16: "1e+16", 1.5e16: "1.5e+16", 1234567890123456: "1234567890123456.0",
		1e-31: "1e-31", 1e300: "1e+300", -2.5e-7: "-2.5e-07", 123.456: "123.456", 9007199254740993: "9007199254740992.0",
		1e21: "1e+21", 0.1: "0.1",
	} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestShortNumber: the short form of a number reads as the number does
// (strconv.ParseFloat, where it reads right: golang/go#42436 aside, which
// the short form avoids) and is at most about 830 bytes, whatever the
// length of the number.
func TestShortNumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int, leadingZeros bool) string {
		var b strings.Builder
		for i := range n {
			c := byte('0' + rng.IntN(10))
			if i == 0 && !leadingZeros && c == '0' {
				c = '1'
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	cases := []string{"0", "-0", "0.0", "1", "-1.5", "1e400", "-1e400", "1e-400", "0.000001e6",
		"1" + strings.Repeat("0", 5000), "0." + strings.Repeat("0", 5000) + "1", "0." + strings.Repeat("0", 5000) + "7e5001",
		"1." + strings.Repeat("0", 5000), "2.5" + strings.Repeat("0", 5000), "1e" + strings.Repeat("9", 5000), "1e-" + strings.Repeat("9", 5000),
		"0." + strings.Repeat("0", 100) + "e" + strings.Repeat("9", 5000)}
	for range 2000 {
		s := digits(1+rng.IntN(30), false)
		if rng.IntN(2) == 0 {
			s += "." + digits(1+rng.IntN(900), true)
		}
		if rng.IntN(2) == 0 {
			s += "e" + []string{"", "+", "-"}[rng.IntN(3)] + strconv.Itoa(rng.IntN(330))
		}
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		cases = append(cases, s)
	}
	for _, s := range cases {
		short := shortNumber([]byte(s))
		if len(short) > 830 {
			t.Fatalf("shortNumber(%.40s…) is %d bytes", s, len(short))
		}
		want, wantErr := strconv.ParseFloat(s, 64)
		got, err := strconv.ParseFloat(short, 64)
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) || math.Signbit(got) != math.Signbit(want) || (err == nil) != (wantErr == nil) {
			t.Errorf("%.60s… (%d bytes): %v, %v from %.60s…; want %v, %v", s, len(s), got, err, short, want, wantErr)
		}
	}
}

// TestStringBoundRefusesWhatAStandInCannotMatch: a field's string schema
// that a stand-in could pass where the string it replaces fails is caught
// when the shapes are built (NewHandler fails).
func TestStringBoundRefusesWhatAStandInCannotMatch(t *testing.T) {
	for name, s := range map[string]*openapi3.Schema{
		"long maxLength": openapi3.NewStringSchema().WithMaxLength(2000),
		"pattern":        openapi3.NewStringSchema().WithPattern("^a+$"),
		"format":         openapi3.NewStringSchema().WithFormat("date-time"),
		"in a oneOf":     openapi3.NewOneOfSchema(openapi3.NewStringSchema().WithPattern("^a+$")),
	} {
		if _, err := stringBound(s); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n, err := stringBound(openapi3.NewOneOfSchema(openapi3.NewStringSchema().WithMaxLength(128), openapi3.NewIntegerSchema())); n != 128 || err != nil {
		t.Errorf("stringBound = %d, %v; want 128", n, err)
	}
}
