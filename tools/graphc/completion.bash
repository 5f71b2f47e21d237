# tools/graphc/completion.bash — bash completion for graphc, installed as
# share/bash-completion/completions/graphc. The commands and flags come from
# graphc's own --help, so they never drift from the program.
_graphc() {
  local cur prev words cword
  _init_completion 2>/dev/null || { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; cword=$COMP_CWORD; words=("${COMP_WORDS[@]}"); }
  local graphc=${words[0]}
  local sub="" i
  for ((i = 1; i < cword; i++)); do
    case ${words[i]} in -*) ;; *) sub=${words[i]}; break ;; esac
  done
  if [ -z "$sub" ]; then
    COMPREPLY=($(compgen -W "$("$graphc" --help 2>/dev/null | awk '/^Subcommands:/{f=1;next} f&&NF{print $1}') --help --version" -- "$cur"))
    return
  fi
  case $prev in
    --model) COMPREPLY=($(compgen -W "$("$graphc" models 2>/dev/null | awk 'NR>1{print $1}')" -- "$cur")); return ;;
    --emit) COMPREPLY=($(compgen -W "ir dot llvm llvm-opt asm obj" -- "$cur")); return ;;
    --engine) COMPREPLY=($(compgen -W "jit interp" -- "$cur")); return ;;
    --optimizer) COMPREPLY=($(compgen -W "sgd momentum adam" -- "$cur")); return ;;
    --iter) COMPREPLY=($(compgen -W "sequential random" -- "$cur")); return ;;
    --text) COMPREPLY=($(compgen -W "d2l chars" -- "$cur")); return ;;
    --graph) COMPREPLY=($(compgen -W "train forward step" -- "$cur")); return ;;
    --target-cpu) COMPREPLY=($(compgen -W "host x86-64-v2 x86-64-v3 x86-64-v4 znver3 znver4 sapphirerapids" -- "$cur")); return ;;
    --load|--save|--resume|--data|--metrics|--plot|--model-lib|--prefix-file|-o|--output|--cache-dir) _filedir 2>/dev/null || COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [ "$sub" = help ]; then
    COMPREPLY=($(compgen -W "$("$graphc" --help 2>/dev/null | awk '/^Subcommands:/{f=1;next} f&&NF{print $1}')" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$("$graphc" "$sub" --help 2>/dev/null | grep -oE -- '^ +(-[a-z],)?--[a-z][a-z0-9-]*' | sed -E 's/^ +//; s/^-[a-z],//')" -- "$cur"))
  else
    _filedir 2>/dev/null || COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -F _graphc graphc
