package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// handleHealthz answers 200 whenever the process serves HTTP (liveness).
func (s *Server) handleHealthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when the store answers a ping and the optional
// Config.ReadyCheck passes, else 503 (readiness). The failure's text is
// not sent: it is in the store error metrics and the logs.
func (s *Server) handleReadyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), readyTimeout)
	defer cancel()
	err := s.store.Ping(ctx)
	if err == nil && s.cfg.ReadyCheck != nil {
		err = s.cfg.ReadyCheck(ctx)
	}
	if err != nil {
		s.log.WarnContext(ctx, "not ready", "request_id", requestIDOf(c), "error", err.Error())
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}
