package web

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"os"
	"path/filepath"

	"archtics/pipeline"
)

// WriteReport writes out, a static HTML page of every team's day at its
// latest tick: the day's events, then each event with stored scans as the
// live page draws it (the same templates and SVG charts, the stylesheet
// inlined, no script, no external asset), so it opens from disk with no
// server. It is written to a temporary file renamed into place.
func WriteReport(ctx context.Context, w *pipeline.Warehouse, cacheDir, out string, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	s := New(Config{Warehouse: w, CacheDir: cacheDir, Logger: logger, NoWarm: true})
	if err := s.Sync(ctx); err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	defer s.Close()
	css, err := files.ReadFile("assets/style.css")
	if err != nil {
		return err
	}
	teams, err := s.cur.dayTeams(ctx)
	if err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	p := &page{Title: "Game-day report", Static: true, CSS: template.CSS(css), Today: teams}
	for _, t := range s.cur.teams {
		for _, e := range t.Today {
			if !e.Stored {
				continue
			}
			ep, ok, err := s.cur.eventPage(ctx, t, e.ID)
			if err == nil && ok {
				ep, err = s.cur.withNoShows(ctx, t, ep)
			}
			if err != nil {
				return fmt.Errorf("report %s: %w", out, err)
			}
			if ok {
				p.Events = append(p.Events, newEventView(ep, fmt.Sprintf("%s-%d-", t.Name, e.ID)))
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	if err := pages.ExecuteTemplate(tmp, "report", p); err != nil {
		tmp.Close()
		return fmt.Errorf("report %s: %w", out, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("report %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report %s: %w", out, err)
	}
	return os.Rename(tmp.Name(), out)
}
