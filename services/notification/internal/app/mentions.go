package app

import (
	"strings"
	"unicode"
)

// maxMentionWords bounds how many words after an @ may name a member
// ("@Chiara Bellini", "@Maria De Luca Rossi").
const maxMentionWords = 4

// maxMentions bounds the candidates one post may produce.
const maxMentions = 200

// MentionKeys are the folded names a post's @mentions could stand for:
// for each @ at a word's start, the 1 to 4 words after it, without the
// punctuation that ends a sentence. Display names have spaces, so the
// directory decides which of them names someone. The discussion service
// does not mark mentions itself: the text is read here.
func MentionKeys(body string) []string {
	var keys []string
	seen := map[string]bool{}
	runes := []rune(body)
	for i, r := range runes {
		if r != '@' || (i > 0 && !unicode.IsSpace(runes[i-1]) && !strings.ContainsRune("([{\"'", runes[i-1])) {
			continue
		}
		words := strings.Fields(string(runes[i+1 : min(len(runes), i+1+maxMentionWords*40)]))
		var name []string
		for _, w := range words {
			if len(name) == maxMentionWords {
				break
			}
			trimmed := strings.TrimRightFunc(w, func(r rune) bool { return unicode.IsPunct(r) && r != '\'' && r != '-' })
			if trimmed == "" || strings.HasPrefix(w, "@") {
				break
			}
			name = append(name, trimmed)
			key := NameKey(strings.Join(name, " "))
			if !seen[key] {
				seen[key] = true
				keys = append(keys, key)
			}
			if trimmed != w {
				break // the name ended with the sentence
			}
		}
		if len(keys) >= maxMentions {
			break
		}
	}
	return keys
}
