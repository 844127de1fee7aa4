// The island runtime's bundle entry (files starting with `_` are not islands).
import "./_client/boot.ts";
