package main

import (
	"fmt"

	"github.com/alecthomas/kong"
)

// The flags every command takes (the database, the log) are batchesd's
// own: batchesd --help lists them in their groups, and a command's --help
// names them in one line instead of repeating their help.
var sharedFlagGroups = kong.ExplicitGroups([]kong.Group{
	{Key: "database", Title: "Database flags (every command):"},
	{Key: "log", Title: "Log flags (every command):"},
})

// helpPrinter is kong's help, but for a command's help the shared flags
// are summed up in one line.
func helpPrinter(options kong.HelpOptions, ctx *kong.Context) error {
	if ctx.Selected() == nil {
		return kong.DefaultHelpPrinter(options, ctx)
	}
	var hidden []*kong.Flag
	var names string
	for _, f := range ctx.Model.Flags {
		if f.Group != nil && (f.Group.Key == "database" || f.Group.Key == "log") && !f.Hidden {
			f.Hidden = true
			hidden = append(hidden, f)
			if names != "" {
				names += ", "
			}
			names += "--" + f.Name
		}
	}
	defer func() {
		for _, f := range hidden {
			f.Hidden = false
		}
	}()
	if err := kong.DefaultHelpPrinter(options, ctx); err != nil {
		return err
	}
	if len(hidden) > 0 {
		fmt.Fprintf(ctx.Stdout, "\nThe flags of every command apply too (batchesd --help tells them):\n  %s\n", names)
	}
	return nil
}
