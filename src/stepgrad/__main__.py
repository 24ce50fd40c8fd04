from stepgrad.cli import main

main()
