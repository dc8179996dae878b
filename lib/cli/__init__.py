"""The command line (`crs-batch`): a front end beside the pages and the API."""
