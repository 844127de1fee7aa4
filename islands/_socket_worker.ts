// The socket worker's bundle entry (files starting with `_` are not islands).
import "./_client/socket_worker.ts";
