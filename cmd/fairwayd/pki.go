package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	apipki "github.com/fairway-hpc/fairway/api/pki"
	"github.com/fairway-hpc/fairway/ctld/pki"
)

// pkiCommand is `fairwayd pki`: the cluster CA and the daemons'
// certificates (see ctld/pki for the directory layout).
func pkiCommand() *cli.Command {
	dirFlag := &cli.StringFlag{Name: "dir", Value: "/etc/fairway/pki", Usage: "PKI directory (ca.pem, ca-key.pem and issued certificates)"}
	return &cli.Command{
		Name:  "pki",
		Usage: "create the cluster CA and issue controller, node and admin certificates",
		Subcommands: []*cli.Command{
			{
				Name:  "init",
				Usage: "create a CA (ECDSA P-256, 10 years) in --dir: ca.pem and ca-key.pem (0600)",
				Flags: []cli.Flag{dirFlag},
				Action: func(c *cli.Context) error {
					dir := c.String("dir")
					if _, err := pki.Init(dir, time.Now()); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "created CA %s (key %s)\n", filepath.Join(dir, pki.CACertFile), filepath.Join(dir, pki.CAKeyFile))
					return nil
				},
			},
			{
				Name:  "issue",
				Usage: "issue a certificate signed by the CA in --dir: <role>-<name>.pem and <role>-<name>-key.pem (0600)",
				Flags: []cli.Flag{
					dirFlag,
					&cli.StringFlag{Name: "controller", Usage: "issue for controller ID (fairway://controller/ID)"},
					&cli.StringFlag{Name: "node", Usage: "issue for node NAME (fairway://node/NAME)"},
					&cli.StringFlag{Name: "admin", Usage: "issue an administrator's client certificate (fairway://admin/NAME)"},
					&cli.StringFlag{Name: "host", Usage: "addresses the holder serves at, comma-separated IPs or DNS names (host:port accepted): the certificate's SANs"},
					&cli.DurationFlag{Name: "valid-for", Value: pki.DefaultCertValidity, Usage: "validity (never past the CA's)"},
				},
				Action: func(c *cli.Context) error {
					id, err := issueIdentity(c.String("controller"), c.String("node"), c.String("admin"))
					if err != nil {
						return err
					}
					dir := c.String("dir")
					ca, err := pki.Load(dir)
					if err != nil {
						return err
					}
					var hosts []string
					for _, h := range strings.Split(c.String("host"), ",") {
						if h = strings.TrimSpace(h); h != "" {
							hosts = append(hosts, h)
						}
					}
					if id.Role != apipki.RoleAdmin && len(hosts) == 0 {
						return fmt.Errorf("--host is required for a %s certificate: the addresses it serves at (its SANs)", id.Role)
					}
					f, err := ca.IssueFiles(dir, pki.IssueRequest{Identity: id, Hosts: hosts, Now: time.Now(), Validity: c.Duration("valid-for")})
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "issued %s: %s (key %s)\n", id, f.Cert, f.Key)
					return nil
				},
			},
		},
	}
}

// issueIdentity is the identity named by exactly one of --controller,
// --node and --admin.
func issueIdentity(controller, node, admin string) (apipki.Identity, error) {
	var ids []apipki.Identity
	if controller != "" {
		ids = append(ids, apipki.Controller(controller))
	}
	if node != "" {
		ids = append(ids, apipki.Node(node))
	}
	if admin != "" {
		ids = append(ids, apipki.Admin(admin))
	}
	if len(ids) != 1 {
		return apipki.Identity{}, fmt.Errorf("give exactly one of --controller ID, --node NAME, --admin NAME")
	}
	if err := ids[0].Validate(); err != nil {
		return apipki.Identity{}, err
	}
	return ids[0], nil
}
