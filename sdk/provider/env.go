package provider

import "os"

var lookupEnv = os.LookupEnv
