import type { Command } from './command.js';

export const SHELLS: readonly string[] = ['bash', 'zsh'];

const GLOBAL = ['--json', '--help'];

/** Words for `compgen -W`: plain words only (every noun, verb and option is one). */
const words = (list: readonly string[]) => list.join(' ');

/**
 * A completion script for `gatehouse`: the nouns (and one-word commands), each noun's verbs, and each
 * command's options. After an option that takes a value, and for positional arguments, the shell's
 * default (file names) applies. zsh runs the same function through its bash compatibility layer.
 */
export function completionScript(shell: string, commands: readonly Command[]): string {
  const firsts = [...new Set(commands.map((c) => c.path[0]!))];
  const valueOptions = new Set<string>();
  const leafCase = (c: Command) => {
    const options = Object.entries(c.options ?? {}).map(([name, spec]) => {
      if (spec.type !== 'boolean') valueOptions.add(`--${name}`);
      return `--${name}`;
    });
    return c.path[0] === 'completion' ? `[[ -z "$verb" ]] && words="${words(SHELLS)}"` : `words="${words([...options, ...GLOBAL])}"`;
  };
  const nounCases = firsts.map((first) => {
    const group = commands.filter((c) => c.path[0] === first);
    const single = group.find((c) => c.path.length === 1);
    if (single) return `    ${first}) ${leafCase(single)} ;;`;
    const verbs = group.map((c) => c.path[1]!);
    const verbCases = group.map((c) => `        ${c.path[1]}) ${leafCase(c)} ;;`);
    return [`    ${first})`, `      case "$verb" in`, `        "") words="${words([...verbs, ...GLOBAL])}" ;;`, ...verbCases, '      esac ;;'].join('\n');
  });
  const bash = `# gatehouse shell completion (${shell}). Install: source <(npx gatehouse completion ${shell})
_gatehouse() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" noun="" verb="" word="" words="" i
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
  COMPREPLY=()
  # An option that takes a value: leave the value to the shell's default completion.
  case "$prev" in
    ${[...valueOptions].sort().join('|') || '--no-such-option'}) return 0 ;;
  esac
  # The noun and verb are the first words that are neither options nor option values.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      -*) continue ;;
    esac
    case "\${COMP_WORDS[i-1]}" in
      ${[...valueOptions].sort().join('|') || '--no-such-option'}) continue ;;
    esac
    if [[ -z "$noun" ]]; then noun="$word"; elif [[ -z "$verb" ]]; then verb="$word"; fi
  done
  case "$noun" in
    "") words="${words([...firsts, ...GLOBAL])}" ;;
${nounCases.join('\n')}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  return 0
}
complete -o default -F _gatehouse gatehouse
`;
  if (shell === 'zsh') return `autoload -U +X bashcompinit && bashcompinit\n${bash}`;
  return bash;
}
