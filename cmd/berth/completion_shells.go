package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/spf13/cobra"
)

// newCompletionCommand replaces cobra's own: its bash script needs the
// bash-completion package (_get_comp_words_by_ref, _filedir), which a plain
// bash lacks; berth's script carries a fallback for both.
func newCompletionCommand(root *cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script",
		Long: `Print a script that lets the shell complete berth's commands, flags and names:
services (stopped ones for start, running ones for stop, restart and logs),
components and their versions (branch: for a branch), images, hosts, templates
and flag values. The names come from the environment the command line is in.

bash works as it is: the bash-completion package is used when it is loaded and
not needed otherwise. zsh needs compinit (most setups run it).`,
		Example: `  source <(berth completion bash)                     # this bash session
  berth completion bash > ~/.local/share/bash-completion/completions/berth
  berth completion zsh > "${fpath[1]}/_berth"          # zsh, then start a new shell
  berth completion fish > ~/.config/fish/completions/berth.fish`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				var b bytes.Buffer
				if err := root.GenBashCompletionV2(&b, true); err != nil {
					return err
				}
				script, err := plainBash(b.String(), root.Name())
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(w, script)
				return err
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(w)
			}
			return usagef("unknown shell %q: use bash, zsh, fish or powershell", args[0])
		},
	}
	return c
}

// The expressions are compiled when a bash script is asked for, not at the
// start of every run.
var (
	wordsByRefCall = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^(\s*)_get_comp_words_by_ref "\$@" cur prev words cword$`)
	})
	filedirCall = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\b_filedir\b`) })
)

// plainBash makes cobra's bash script work without the bash-completion
// package: its two calls into that package go through functions that use the
// package when it is loaded and otherwise do the same job in plain bash.
func plainBash(script, name string) (string, error) {
	if n := len(wordsByRefCall().FindAllStringIndex(script, -1)); n != 1 {
		return "", fmt.Errorf("bash completion script: expected one call of _get_comp_words_by_ref \"$@\" cur prev words cword, found %d (cobra changed its script)", n)
	}
	if !filedirCall().MatchString(script) {
		return "", fmt.Errorf("bash completion script: no call of _filedir found (cobra changed its script)")
	}
	// bash-completion sets cur, prev, words and cword one function up:
	// the call stays where it is and only the fallback is new.
	script = wordsByRefCall().ReplaceAllString(script, `${1}if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
${1}    _get_comp_words_by_ref "$$@" cur prev words cword
${1}else
${1}    __`+name+`_comp_words "$$@" cur prev words cword
${1}fi`)
	script = filedirCall().ReplaceAllString(script, "__"+name+"_filedir")
	return script + strings.ReplaceAll(bashFallbacks, "__NAME", "__"+name), nil
}

// bashFallbacks stand in for bash-completion's _get_comp_words_by_ref and
// _filedir. Words are split at blanks only, which is what the script asks
// for (-n =: keeps "--flag=value" and "branch:name" whole).
const bashFallbacks = `
__NAME_comp_words()
{
    if [[ $1 == -n ]]; then
        shift 2
    fi
    local __NAME_line=${COMP_LINE:0:COMP_POINT}
    local -a __NAME_w
    read -ra __NAME_w <<< "$__NAME_line"
    if [[ ${#__NAME_w[@]} -eq 0 || $__NAME_line == *[[:blank:]] ]]; then
        __NAME_w+=("")
    fi
    local __NAME_n=$(( ${#__NAME_w[@]} - 1 ))
    while (( $# )); do
        case $1 in
            cur) cur=${__NAME_w[__NAME_n]} ;;
            prev) prev=${__NAME_w[__NAME_n-1]} ;;
            words) words=("${__NAME_w[@]}") ;;
            cword) cword=$__NAME_n ;;
        esac
        shift
    done
}

__NAME_filedir()
{
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir "$@"
        return
    fi
    local IFS=$'\n'
    if [[ $1 == -d ]]; then
        COMPREPLY+=( $(compgen -d -- "$cur") )
    else
        COMPREPLY+=( $(compgen -f -- "$cur") )
    fi
    compopt -o filenames 2>/dev/null
}
`
