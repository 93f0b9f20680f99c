// Package browsertest drives Debian's Chromium (headless, through the
// DevTools protocol with chromedp) against the whole devstack with its demo
// data: the portal as people use it, with axe-core checking accessibility
// and screenshots of the main pages left in artifacts/screenshots for
// review. It holds tests only; see README.md ("Browser tests").
package browsertest
