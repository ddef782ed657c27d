package main

import (
	"log/slog"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// readier is the backend's readiness (store.Store.Ready); a backend
// without it (standalone) is ready once it serves.
type readier interface{ Ready() bool }

// notifyWhenReady waits until be can serve, then logs it once and tells
// systemd (READY=1 on $NOTIFY_SOCKET, for Type=notify units; nothing when
// the variable is unset). It gives up when stop closes.
func notifyWhenReady(log *slog.Logger, be any, started time.Time, stop <-chan struct{}) {
	if r, ok := be.(readier); ok {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for !r.Ready() {
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}
	log.Info("ready to serve", "after", time.Since(started).Round(time.Millisecond))
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		log.Warn("telling systemd the node is ready", "err", err)
	}
}

// notifyStopping tells systemd the node is shutting down (STOPPING=1).
func notifyStopping(log *slog.Logger) {
	if _, err := daemon.SdNotify(false, daemon.SdNotifyStopping); err != nil {
		log.Warn("telling systemd the node is stopping", "err", err)
	}
}
