package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes walkerctl's commands and flags. Load it with
   source <(walkerctl completion bash)      # in ~/.bashrc
   source <(walkerctl completion zsh)       # in ~/.zshrc, after compinit
   walkerctl completion fish > ~/.config/fish/completions/walkerctl.fish

bash and zsh ask walkerctl itself for candidates (--generate-bash-completion).`,
		Action: runCompletion,
	}
}

func runCompletion(c *cli.Context) error {
	if err := args(c, 1, 1); err != nil {
		return err
	}
	var script string
	switch shell := c.Args().First(); shell {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		s, err := c.App.ToFishCompletion()
		if err != nil {
			return err
		}
		script = s
	default:
		return &usageError{msg: fmt.Sprintf("shell %q: want bash, zsh or fish", shell), command: "walkerctl completion"}
	}
	_, err := fmt.Fprint(c.App.Writer, strings.ReplaceAll(script, "$PROG", c.App.Name))
	return err
}

// The scripts of urfave/cli v2's autocomplete/ directory.
const bashCompletion = `_walkerctl_bash_autocomplete() {
  if [[ "${COMP_WORDS[0]}" != "source" ]]; then
    local cur opts
    COMPREPLY=()
    cur="${COMP_WORDS[COMP_CWORD]}"
    if [[ "$cur" == "-"* ]]; then
      opts=$( ${COMP_WORDS[@]:0:$COMP_CWORD} ${cur} --generate-bash-completion 2>/dev/null )
    else
      opts=$( ${COMP_WORDS[@]:0:$COMP_CWORD} --generate-bash-completion 2>/dev/null )
    fi
    COMPREPLY=( $(compgen -W "${opts}" -- ${cur}) )
    return 0
  fi
}

complete -o bashdefault -o default -o nospace -F _walkerctl_bash_autocomplete $PROG
`

const zshCompletion = `#compdef $PROG

_cli_zsh_autocomplete() {
  local -a opts
  local cur
  cur=${words[-1]}
  if [[ "$cur" == "-"* ]]; then
    opts=("${(@f)$(${words[@]:0:#words[@]-1} ${cur} --generate-bash-completion)}")
  else
    opts=("${(@f)$(${words[@]:0:#words[@]-1} --generate-bash-completion)}")
  fi

  if [[ "${opts[1]}" != "" ]]; then
    _describe 'values' opts
  else
    _files
  fi
}

compdef _cli_zsh_autocomplete $PROG
`
