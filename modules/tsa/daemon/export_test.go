package daemon

import "github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"

// RouteTable lists the routes a listener of d serves.
func RouteTable(d *Daemon) ([]httpapi.RouteInfo, error) {
	api, err := d.newAPI(httpapi.Config{LocalAddr: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	return api.Routes(), nil
}
