package web

import (
	"context"
	"sync"
)

// background runs work that outlives the request that started it (a CSV
// import) until the server stops, which cancels it and waits for it.
type background struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newBackground() *background {
	ctx, cancel := context.WithCancel(context.Background())
	return &background{ctx: ctx, cancel: cancel}
}

// Go runs fn with the background's context.
func (b *background) Go(fn func(ctx context.Context)) {
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		fn(b.ctx)
	}()
}

// stop cancels the work and waits for it to end.
func (b *background) stop() {
	b.cancel()
	b.wg.Wait()
}
