package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/alecthomas/kong"
)

// serve's flags are checked before anything is opened (serveCmd.Validate,
// kong's Validate hook: a usage error, exit 2): each group of flags has a
// check that returns the first value it refuses as a *badFlag, and
// Validate names how that value was given, the flag on the command line
// or its environment variable. A value of 0 is either refused or means
// what the flag's help says; a value that would make the server useless
// (headers too small for any request) is refused with the least it takes.

// badFlag is a value of a flag that serve refuses.
type badFlag struct {
	name  string // the flag, without "--"
	value string // as the flag holds it; "" for a secret, never shown
	want  string // what is wrong with it and what the flag takes
}

// Error names the flag as given on the command line: "--max-requests -1:
// give 0 (no limit) or more".
func (e *badFlag) Error() string {
	if e.value == "" {
		return "--" + e.name + ": " + e.want
	}
	return "--" + e.name + " " + e.value + ": " + e.want
}

// given returns e's message naming how the value was given: the flag, or
// its variable and then the flag ("BATCHESD_MAX_REQUESTS=-1
// (--max-requests): give 0 (no limit) or more") when the value came from
// the environment.
func (e *badFlag) given(kctx *kong.Context) string {
	env := flagEnv(kctx, e.name)
	if env == "" {
		return e.Error()
	}
	if e.value == "" {
		return fmt.Sprintf("%s (--%s): %s", env, e.name, e.want)
	}
	return fmt.Sprintf("%s=%s (--%s): %s", env, os.Getenv(env), e.name, e.want)
}

// flagEnv returns the environment variable the value of the flag name
// came from, or "" when it was given on the command line (or is its
// default).
func flagEnv(kctx *kong.Context, name string) string {
	for _, p := range kctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			return ""
		}
	}
	for _, f := range kctx.Flags() {
		if f.Name != name {
			continue
		}
		for _, env := range f.Envs {
			if _, ok := os.LookupEnv(env); ok {
				return env
			}
		}
	}
	return ""
}

// givenAs is how the value of the flag name was given: "--name", or its
// environment variable.
func givenAs(kctx *kong.Context, name string) string {
	if env := flagEnv(kctx, name); env != "" {
		return env
	}
	return "--" + name
}

// number is what the numeric flags hold.
type number interface {
	~int | ~int64 | ~float64
}

// within returns a *badFlag saying want unless lo ≤ v ≤ hi (v not NaN).
func within[T number](name string, v, lo, hi T, want string) error {
	if v >= lo && v <= hi {
		return nil
	}
	return &badFlag{name: name, value: fmt.Sprint(v), want: want}
}

// atLeast returns a *badFlag saying want unless lo ≤ v (v not NaN).
func atLeast[T number](name string, v, lo T, want string) error {
	if v >= lo {
		return nil
	}
	return &badFlag{name: name, value: fmt.Sprint(v), want: want}
}

// firstError returns the first error of errs that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// maxMiB is the most MiB a memory flag takes (1 TiB): more would overflow
// when made bytes, and turn into no limit at all.
const maxMiB = 1 << 20

// mebibytes checks a flag of MiB that takes 0 for none.
func mebibytes(name string, v int64, zero string) error {
	return within(name, v, 0, maxMiB, fmt.Sprintf("give 0 (%s) to %d MiB (1 TiB)", zero, maxMiB))
}

// checkAddr checks a flag's listening address: host:port, the port a
// number (0 picks a free one) or a service's name. A host that does not
// resolve is found when listening.
func checkAddr(name, addr, example string) error {
	want := "give host:port, such as " + example
	if addr == "" {
		return &badFlag{name: name, value: `""`, want: "empty: " + want + " (:" + portOf(example) + " listens on every interface)"}
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		return &badFlag{name: name, value: strconv.Quote(addr), want: err.Error() + ": " + want}
	}
	return nil
}

func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// negativeNumbers makes the flags of numbers and durations take a negative
// value after a space (--rate-limit -1), which kong otherwise reads as the
// short flag -1 ("expected float value but got "-1" (short flag)"): the
// flags' checks then say what they take, as for --rate-limit=-1.
func negativeNumbers() kong.Option {
	defaults := kong.NewRegistry().RegisterDefaults()
	var opts []kong.Option
	for _, typ := range []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[int64](), reflect.TypeFor[float64](), reflect.TypeFor[time.Duration]()} {
		m := defaults.ForType(typ)
		opts = append(opts, kong.TypeMapper(typ, kong.MapperFunc(func(ctx *kong.DecodeContext, target reflect.Value) error {
			takeNegative(ctx.Scan)
			return m.Decode(ctx, target)
		})))
	}
	return kong.OptionFunc(func(k *kong.Kong) error {
		for _, o := range opts {
			if err := o.Apply(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// negativeNumber is an argument that is a negative number or duration,
// never a flag: batchesd has no short flag of a digit or a dot.
var negativeNumber = regexp.MustCompile(`^-\.?[0-9]`)

// takeNegative makes the next argument, when it is a negative number,
// the value of the flag being read.
func takeNegative(s *kong.Scanner) {
	t := s.Peek()
	if v, ok := t.Value.(string); ok && t.Type == kong.UntypedToken && negativeNumber.MatchString(v) {
		s.Pop()
		s.PushTyped(v, kong.FlagValueToken)
	}
}
