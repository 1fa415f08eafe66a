from fusiondesk.service.cli import main

main()
