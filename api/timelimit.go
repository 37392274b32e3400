package api

// TimeLimitUnlimited is the JobSpec.TimeLimitSecs of a job that asks for no
// time limit (sbatch --time=UNLIMITED, INFINITE or 0). Like Slurm's INFINITE it
// fits only partitions without a MaxTimeSecs; tools print it as UNLIMITED.
const TimeLimitUnlimited int64 = 1<<31 - 1

// Unlimited reports whether a time limit in seconds means "no limit".
func Unlimited(limitSecs int64) bool { return limitSecs >= TimeLimitUnlimited }
