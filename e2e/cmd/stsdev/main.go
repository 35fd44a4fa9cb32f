// Command stsdev is the developer's kit for trying stsgate by hand: a signing
// key and JWKS for the gateway to trust, bearer tokens signed with it, an S3
// client that uses the Token document the gateway answers, and the MinIO user
// setup of the demo (scripts/run-demo.sh, `make run`).
//
//	stsdev keys  -dir D
//	stsdev token -dir D -sub jane -aud X -iss Y [-ttl 1h] [-claim k=v]...
//	stsdev s3    -creds FILE|- [-endpoint URL] put|get|ls [bucket[/key]]
//	stsdev minio-setup -endpoint URL -root-user U -root-password P -user A -secret S [-policy NAME] [-policy-file F]
//
// Run `stsdev <command> -h` for each command's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `stsdev: a developer's kit for stsgate.

Commands:
  keys         create an RSA signing key and jwks.json in a directory (idempotent)
  token        mint an RS256 bearer token with that key
  s3           use a Token document's credentials with S3: put, get or ls
  minio-setup  create a MinIO user with a policy (the gateway's own keys)

Run "stsdev <command> -h" for a command's flags.

Example (the demo of scripts/run-demo.sh):
  stsdev keys -dir .cache/demo/keys
  tok=$(stsdev token -dir .cache/demo/keys -sub jane -aud stsgate-demo -iss http://stsgate.demo)
  curl -sf -X PUT http://127.0.0.1:8080/apis/sts/token -H "Authorization: Bearer $tok" \
    | stsdev s3 -creds - put demo/hello.txt
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "stsdev:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return errors.New("no command")
	}
	switch args[0] {
	case "keys":
		return cmdKeys(args[1:], stdout)
	case "token":
		return cmdToken(args[1:], stdout)
	case "s3":
		return cmdS3(args[1:], stdin, stdout)
	case "minio-setup":
		return cmdMinIOSetup(args[1:], stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// newFlagSet is a flag set whose -h prints the command's synopsis first.
func newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: stsdev %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}
