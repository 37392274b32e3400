// Command allreduce is the distributed test program of cmd/hatest: every
// task of an srun step reads Slurm's variables as torch.distributed's env://
// initialization and PyTorch Lightning's SLURMEnvironment do, rendezvouses
// over TCP at rank 0 on the first host of SLURM_JOB_NODELIST, and sums the
// ranks (an all-reduce). Each task prints one line:
//
//	rank=R world=W local=L node=N main=HOST port=P sum=S
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "allreduce:", err)
		os.Exit(1)
	}
}

func envInt(name string) (int, error) {
	n, err := strconv.Atoi(os.Getenv(name))
	if err != nil {
		return 0, fmt.Errorf("$%s=%q: %w", name, os.Getenv(name), err)
	}
	return n, nil
}

func run() error {
	var vals [5]int
	for i, name := range []string{"SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_JOB_ID"} {
		n, err := envInt(name)
		if err != nil {
			return err
		}
		vals[i] = n
	}
	rank, world, local, node, job := vals[0], vals[1], vals[2], vals[3], vals[4]
	// The main address: the first host of the job's node list, as
	// Lightning's SLURMEnvironment.resolve_root_node_address does.
	out, err := exec.Command("scontrol", "show", "hostnames", os.Getenv("SLURM_JOB_NODELIST")).Output()
	if err != nil {
		return fmt.Errorf("scontrol show hostnames: %w", err)
	}
	main := strings.Fields(string(out))[0]
	// Lightning's port: 10000 + the job ID's last 4 digits.
	port := 10000 + job%10000
	sum := 0
	if rank == 0 {
		ln, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			return err
		}
		defer ln.Close()
		var peers []net.Conn
		sum = 0
		for range world - 1 {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			var r int
			if _, err := fmt.Fscan(bufio.NewReader(c), &r); err != nil {
				return err
			}
			sum += r
			peers = append(peers, c)
		}
		for _, c := range peers {
			fmt.Fprintln(c, sum)
			c.Close()
		}
	} else {
		var c net.Conn
		for deadline := time.Now().Add(60 * time.Second); ; {
			c, err = net.Dial("tcp", net.JoinHostPort(main, strconv.Itoa(port)))
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("rendezvous at %s:%d: %w", main, port, err)
		}
		fmt.Fprintln(c, rank)
		if _, err := fmt.Fscan(bufio.NewReader(c), &sum); err != nil {
			return err
		}
		c.Close()
	}
	fmt.Printf("rank=%d world=%d local=%d node=%d main=%s port=%d sum=%d\n", rank, world, local, node, main, port, sum)
	return nil
}
