// Package render turns the Markdown that members write into HTML that is
// safe to put in a page, with the policy the portal also renders
// practices' texts with (services/platform/markdown).
package render

import "github.com/gemella/gemella/services/platform/markdown"

// Markdown renders src to sanitised HTML.
func Markdown(src string) string { return markdown.HTML(src) }
