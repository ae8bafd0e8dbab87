from tugi.cli import main

main()
