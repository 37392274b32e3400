// Package deploytest holds the end-to-end test of the deployment path
// (build tag e2e, root): contrib/cluster.sh brings up 3 controllers and 4
// node daemons in network namespaces with the systemd units' command lines
// and the example configuration files, and the test drives the cluster
// through the Slurm-named client commands, across the loss of the raft
// leader, and checks that contrib/cluster.sh down leaves nothing behind.
package deploytest
