from tds_cli.main import main

main()
