package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts a real headless Chromium for one test. It skips without
// LEADHUB_TEST_CHROMIUM unless LEADHUB_TEST_REQUIRE_SERVICES=1 (as in CI),
// which turns a missing browser into a failure.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("LEADHUB_TEST_CHROMIUM")
	if path == "" {
		if p, err := exec.LookPath("chromium"); err == nil && os.Getenv("LEADHUB_TEST_REQUIRE_SERVICES") == "1" {
			path = p
		}
	}
	if path == "" {
		if os.Getenv("LEADHUB_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("LEADHUB_TEST_CHROMIUM is not set and chromium is not installed")
		}
		t.Skip("LEADHUB_TEST_CHROMIUM not set; skipping the browser test")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 768),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			screenshot(t, ctx)
		}
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// screenshot saves the page as a test artifact next to the test binary's
// working directory (testdata/artifacts, ignored by git).
func screenshot(t *testing.T, ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil || len(png) == 0 {
		t.Logf("no screenshot: %v", err)
		return
	}
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	path := filepath.Join(dir, filepath.Base(t.Name())+".png")
	if err := os.WriteFile(path, png, 0o644); err == nil {
		t.Logf("screenshot saved to %s", path)
	}
}
