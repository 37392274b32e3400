package noded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// Checkpoint directories.
//
// Every job gets one checkpoint directory, the same for all its runs: the
// controller's (api.Job.CheckpointDir, under the cluster's base) or
// CheckpointDirBase/JOBID. The daemon makes it before a run is launched,
// owned by the job's user with mode 0700, and notes it in
// StateDir/checkpoints/JOBID, so that it can remove it once the job has
// finally ended (not merely been requeued) and CheckpointRetention has
// passed. A job the controller no longer knows (expired from its state)
// counts as ended when the note is older than the retention.

// checkpointNote is what the daemon records about a checkpoint directory it
// made.
type checkpointNote struct {
	JobID api.JobID `json:"job_id"`
	Dir   string    `json:"dir"`
}

// checkpointDir is the job's checkpoint directory on this node.
func (d *daemon) checkpointDir(job *api.Job) string {
	if job.CheckpointDir != "" {
		return filepath.Clean(job.CheckpointDir)
	}
	return filepath.Join(d.cfg.CheckpointDirBase, job.ID.String())
}

func (d *daemon) notesDir() string { return filepath.Join(d.cfg.StateDir, "checkpoints") }

// prepareCheckpointDir makes a job's checkpoint directory, owned by uid:gid
// with mode 0700 (an existing one is kept, with its content), after noting
// it for removal. Its parent is made readable by all when it is new.
func (d *daemon) prepareCheckpointDir(id api.JobID, dir string, uid, gid int) error {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) == "/" {
		return fmt.Errorf("checkpoint directory %q: not an absolute directory", dir)
	}
	if err := os.MkdirAll(d.notesDir(), 0o700); err != nil {
		return fmt.Errorf("checkpoint directory %s: note: %w", dir, err)
	}
	b, err := json.Marshal(checkpointNote{JobID: id, Dir: dir})
	if err != nil {
		return fmt.Errorf("checkpoint directory %s: note: %w", dir, err)
	}
	if err := writeFileSync(filepath.Join(d.notesDir(), id.String()), b); err != nil {
		return fmt.Errorf("checkpoint directory %s: note: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("checkpoint directory %s: %w", dir, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("checkpoint directory %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checkpoint directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("checkpoint directory %s exists and is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == uid && int(st.Gid) == gid {
		return nil
	}
	if err := os.Lchown(dir, uid, gid); err != nil {
		return fmt.Errorf("checkpoint directory %s: give it to uid %d: %w", dir, uid, err)
	}
	return nil
}

// checkpointSweepLoop removes, every CheckpointSweepInterval, the checkpoint
// directories whose job has finally ended more than CheckpointRetention ago.
func (d *daemon) checkpointSweepLoop(ctx context.Context) {
	for {
		if err := d.sweepCheckpoints(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("cannot sweep checkpoint directories; will retry", "err", err)
		}
		if !sleepCtx(ctx, d.clock, d.cfg.CheckpointSweepInterval) {
			return
		}
	}
}

// sweepCheckpoints is one pass of checkpointSweepLoop.
func (d *daemon) sweepCheckpoints(ctx context.Context) error {
	entries, err := os.ReadDir(d.notesDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read checkpoint notes: %w", err)
	}
	notes := map[api.JobID]checkpointNote{}
	noted := map[api.JobID]time.Time{}
	var ids []api.JobID
	active := map[api.JobID]bool{}
	for k, v := range d.views() {
		if !v.ended {
			active[k.job] = true
		}
	}
	for _, e := range entries {
		n, err := strconv.ParseUint(e.Name(), 10, 64)
		if err != nil || !e.Type().IsRegular() {
			continue
		}
		id := api.JobID(n)
		name := filepath.Join(d.notesDir(), e.Name())
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		var note checkpointNote
		if err := json.Unmarshal(b, &note); err != nil || note.JobID != id || !filepath.IsAbs(note.Dir) || filepath.Clean(note.Dir) == "/" {
			d.log.Warn("removing a bad checkpoint note", "file", name)
			_ = os.Remove(name)
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if active[id] {
			continue
		}
		notes[id], noted[id] = note, fi.ModTime()
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	const batch = 200
	for len(ids) > 0 {
		n := min(batch, len(ids))
		part := ids[:n]
		ids = ids[n:]
		resp, err := d.api.Jobs(ctx, client.JobFilter{All: true, IDs: part}, client.QueryOptions{})
		if err != nil {
			return fmt.Errorf("look up the jobs of checkpoint directories: %w", err)
		}
		jobs := map[api.JobID]*api.Job{}
		for _, j := range resp.Jobs {
			jobs[j.ID] = j
		}
		retention := int64(d.cfg.CheckpointRetention / time.Second)
		for _, id := range part {
			j, known := jobs[id]
			var why string
			switch {
			case known && j.State.Final() && resp.Now-j.EndTime >= retention:
				why = fmt.Sprintf("job ended %s", strings.ToLower(string(j.State)))
			case !known && d.clock.Now().Sub(noted[id]) >= d.cfg.CheckpointRetention:
				why = "the controller no longer knows the job"
			default:
				continue
			}
			note := notes[id]
			if err := os.RemoveAll(note.Dir); err != nil {
				d.log.Warn("cannot remove a checkpoint directory", "job", id, "dir", note.Dir, "err", err)
				continue
			}
			if err := os.Remove(filepath.Join(d.notesDir(), id.String())); err != nil && !errors.Is(err, os.ErrNotExist) {
				d.log.Warn("cannot remove a checkpoint note", "job", id, "err", err)
			}
			d.log.Info("removed checkpoint directory", "job", id, "dir", note.Dir, "why", why)
		}
	}
	return nil
}
