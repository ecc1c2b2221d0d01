package web_test

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// browser drives a real headless Chromium against a real server. Every
// console error, uncaught exception, CSP violation or failed resource load
// in any page fails the test.
type browser struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string

	mu       sync.Mutex
	problems []string
	// expected are console messages a test provokes on purpose (a frame
	// the CSP refuses), as substrings; they are not problems.
	expected []string
	// root is the browser a frame's browser belongs to (see inFrame).
	root *browser
}

// expect marks console messages containing substr as provoked on purpose.
func (b *browser) expect(substr string) {
	r := b.rootOf()
	r.mu.Lock()
	r.expected = append(r.expected, substr)
	r.mu.Unlock()
}

// saw reports whether the console showed a message containing substr.
func (b *browser) saw(substr string) bool {
	r := b.rootOf()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.problems {
		if strings.Contains(p, substr) {
			return true
		}
	}
	return false
}

func (b *browser) rootOf() *browser {
	if b.root != nil {
		return b.root
	}
	return b
}

// report records a console message that may be a problem.
func (b *browser) report(m chromedp.ConsoleMessage) {
	if m.Type != chromedp.ConsoleError && !m.IsException() && m.Type != chromedp.ConsoleWarning {
		return
	}
	r := b.rootOf()
	r.mu.Lock()
	r.problems = append(r.problems, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
	r.mu.Unlock()
}

// inFrame returns a browser that works in the cross-site iframe whose
// document's URL starts with prefix: Chrome runs such a frame as a target
// of its own (chromedp docs/API.md, "Work in an iframe from another
// site"). Its console messages count like the page's.
func (b *browser) inFrame(prefix string) *browser {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(b.ctx)
		if err != nil {
			b.fail("targets: %v", err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, prefix) {
				ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(info.TargetID))
				b.t.Cleanup(cancel)
				f := &browser{t: b.t, ctx: ctx, base: b.base, shots: b.shots, root: b.rootOf()}
				if err := chromedp.Do(ctx); err != nil {
					b.fail("attach to the frame: %v", err)
				}
				messages := chromedp.Console(ctx)
				go func() {
					for m, err := range messages {
						if err != nil {
							return
						}
						f.report(m)
					}
				}()
				return f
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fail("no frame at %s", prefix)
	return nil
}

// chromium finds the browser: $CHROME_BIN, then Debian's chromium. With CI
// set a missing browser fails the test instead of skipping it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROME_BIN"), "/usr/bin/chromium", "/usr/lib/chromium/chromium"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium found (set CHROME_BIN or apt-get install chromium); browser tests must run in CI")
	}
	t.Skip("no Chromium found; install it (apt-get install chromium) or set CHROME_BIN")
	return ""
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900), // a laptop screen
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx, base: base, shots: cmp.Or(os.Getenv("GATEHOUSE_SCREENSHOTS"), filepath.Join(t.TempDir(), "screenshots"))}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// Start the browser, then subscribe before any page loads.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.report(m)
		}
	}()
	// Accept confirm() dialogs, as a person clicking OK would.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	t.Cleanup(func() {
		time.Sleep(100 * time.Millisecond) // let the last events arrive
		b.mu.Lock()
		defer b.mu.Unlock()
	problems:
		for _, p := range b.problems {
			for _, e := range b.expected {
				if strings.Contains(p, e) {
					continue problems
				}
			}
			t.Errorf("browser console: %s", p)
		}
		t.Logf("screenshots in %s", b.shots)
	})
	return b
}

// do runs actions, failing the test on error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail("browser: %v", err)
	}
}

// fail stops the test with a screenshot of where it was.
func (b *browser) fail(format string, args ...any) {
	b.t.Helper()
	b.shot("failure")
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	b.t.Fatalf(format+" (page %s)", append(args, loc)...)
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// click clicks an element and waits for the page or fragment it loads.
func (b *browser) click(sel string) {
	b.t.Helper()
	b.idle()
	b.do(chromedp.Click(chromedp.CSS(sel)))
}

// idle waits until no htmx request is in flight or being swapped in: a
// click on an element that a pending swap is about to replace would hit
// an element htmx has not processed yet, and follow its plain link.
func (b *browser) idle() {
	b.t.Helper()
	b.waitTrue(`!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')`)
}

// submit clicks a button that loads a new page and waits for it.
func (b *browser) submit(sel string) {
	b.t.Helper()
	b.idle()
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
		b.fail("submit %s: %v", sel, err)
	}
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of %s: %v", sel, err)
	}
	return s
}

// waitText waits until the element's text contains want.
func (b *browser) waitText(sel, want string) string {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
		if err == nil && strings.Contains(s, want) {
			return s
		}
		got = s
		time.Sleep(50 * time.Millisecond)
	}
	b.fail("%s: want text containing %q, have %q", sel, want, got)
	return ""
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitTrue waits until a JavaScript condition holds.
func (b *browser) waitTrue(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fail("waited 10s for %s", expr)
}

// settle waits until no htmx request is in flight.
func (b *browser) settle() {
	b.t.Helper()
	b.waitTrue(`!document.querySelector(".htmx-request")`)
}

func (b *browser) fill(sel, value string) {
	b.t.Helper()
	// A node found by the query can be replaced before its value is set
	// (a swap the page's event feed started): chromedp then fails with
	// "could not set value on node N". Once CI hit it right after a
	// page load; the element is found again, after the swap.
	var err error
	for range 3 {
		b.idle()
		if err = chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS(sel), value)); err == nil {
			return
		}
	}
	b.fail("browser: fill %s: %v", sel, err)
}

// shot saves a full-page screenshot.
func (b *browser) shot(name string) {
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100 gives a PNG; less, a JPEG
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
	}
}
