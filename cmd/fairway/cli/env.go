package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"time"
)

// Identity is the user a command runs as.
type Identity struct {
	Name string
	UID  int
	GID  int
}

// Env is everything the commands read from or write to outside their
// arguments: standard streams, environment, clock, working directory and the
// calling user. DefaultEnv returns the process's own; tests supply fakes.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer

	Getenv  func(key string) string
	Environ func() []string
	// Now is the local clock; listings prefer the controller's clock when it answers.
	Now func() time.Time
	// Location is the time zone dates are printed in (Slurm prints local time).
	Location *time.Location
	Getwd    func() (string, error)
	Hostname func() (string, error)
	// User returns the calling user.
	User func() (Identity, error)
	// GroupName returns the name of a group id, or "" when unknown.
	GroupName func(gid int) string
	// UserExists reports whether a user name (or numeric uid) is known to
	// the system: squeue -u refuses unknown users as Slurm does.
	UserExists func(name string) bool
	// Executable is the path of the running binary (install-shims links to it).
	Executable func() (string, error)
	// Signals, when set, replaces the process's SIGINT, SIGTERM and SIGHUP
	// for srun and salloc (tests); it returns the channel and a function
	// that stops the delivery.
	Signals func() (<-chan os.Signal, func())
}

// DefaultEnv returns the Env of the running process.
func DefaultEnv() *Env {
	return &Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		Environ:    os.Environ,
		Now:        time.Now,
		Location:   time.Local,
		Getwd:      os.Getwd,
		Hostname:   os.Hostname,
		User:       currentUser,
		GroupName:  groupName,
		UserExists: userExists,
		Executable: os.Executable,
	}
}

func currentUser() (Identity, error) {
	id := Identity{UID: os.Getuid(), GID: os.Getgid()}
	u, err := user.LookupId(strconv.Itoa(id.UID))
	if err == nil {
		id.Name = u.Username
		return id, nil
	}
	var unknown user.UnknownUserIdError
	if errors.As(err, &unknown) {
		if name := os.Getenv("USER"); name != "" {
			id.Name = name
		} else {
			id.Name = strconv.Itoa(id.UID)
		}
		return id, nil
	}
	return id, fmt.Errorf("look up user %d: %w", id.UID, err)
}

func groupName(gid int) string {
	g, err := user.LookupGroupId(strconv.Itoa(gid))
	if err != nil {
		return ""
	}
	return g.Name
}

// userExists reports whether the system knows name as a user name or uid.
func userExists(name string) bool {
	if _, err := user.Lookup(name); err == nil {
		return true
	}
	if _, err := strconv.Atoi(name); err == nil {
		// Slurm accepts any numeric uid.
		return true
	}
	return false
}

// withDefaults fills the nil members of e from DefaultEnv.
func (e *Env) withDefaults() *Env {
	d := DefaultEnv()
	if e == nil {
		return d
	}
	out := *e
	if out.Stdin == nil {
		out.Stdin = d.Stdin
	}
	if out.Stdout == nil {
		out.Stdout = d.Stdout
	}
	if out.Stderr == nil {
		out.Stderr = d.Stderr
	}
	if out.Getenv == nil {
		out.Getenv = d.Getenv
	}
	if out.Environ == nil {
		out.Environ = d.Environ
	}
	if out.Now == nil {
		out.Now = d.Now
	}
	if out.Location == nil {
		out.Location = d.Location
	}
	if out.Getwd == nil {
		out.Getwd = d.Getwd
	}
	if out.Hostname == nil {
		out.Hostname = d.Hostname
	}
	if out.User == nil {
		out.User = d.User
	}
	if out.GroupName == nil {
		out.GroupName = d.GroupName
	}
	if out.UserExists == nil {
		out.UserExists = d.UserExists
	}
	if out.Executable == nil {
		out.Executable = d.Executable
	}
	return &out
}
