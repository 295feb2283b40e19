// composecheck loads a docker-compose file with compose-go's loader, the one `docker compose
// config` uses (interpolation, merge, schema validation, normalisation), and exits non-zero with
// the loader's error when the file is not a valid compose project.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck docker-compose.yml [--print]")
		os.Exit(2)
	}
	path, err := filepath.Abs(os.Args[1])
	if err != nil {
		fail(err)
	}
	options, err := cli.NewProjectOptions(
		[]string{path},
		cli.WithWorkingDirectory(filepath.Dir(path)),
		cli.WithName("mend"),
		cli.WithOsEnv,
		cli.WithDotEnv,
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	if len(os.Args) > 2 && os.Args[2] == "--print" {
		out, err := project.MarshalJSON()
		if err != nil {
			fail(err)
		}
		fmt.Println(string(out))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}
