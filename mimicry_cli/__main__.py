from mimicry_cli import main

main()
