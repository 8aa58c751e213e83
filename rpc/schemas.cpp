#include "rpc/schemas.hpp"

namespace mos::rpc {
using json = nlohmann::json;

json plain(const std::string& type) { return {{"type", type}}; }
json nullable(const std::string& type) { return {{"type", json::array({type, "null"})}}; }
json strings() { return {{"type", "array"}, {"items", plain("string")}}; }
json path_schema(const std::string& description) {
  return {{"type", "string"}, {"minLength", 1}, {"maxLength", 4096}, {"description", description}};
}

json plan_schema() {
  json range = {{"type", "object"},
                {"properties", {{"offset", plain("integer")}, {"length", plain("integer")}, {"what", plain("string")}}}};
  json ranges = {{"type", "array"}, {"items", range}};
  json step = {{"type", "object"},
               {"properties",
                {{"name", plain("string")}, {"zeroes", ranges}, {"writes", ranges}, {"omitted", plain("integer")}}}};
  return {{"type", "object"},
          {"properties",
           {{"name", plain("string")},
            {"steps", {{"type", "array"}, {"items", step}}},
            {"bytes_written", plain("integer")},
            {"bytes_zeroed", plain("integer")}}}};
}

json device_schema() {
  json p = {{"path", plain("string")},
            {"name", plain("string")},
            {"kind", {{"type", "string"}, {"enum", {"disk", "partition", "loop", "md", "dm", "zram", "rom"}}}},
            {"size_bytes", plain("integer")},
            {"logical_sector_size", plain("integer")},
            {"physical_sector_size", plain("integer")},
            {"rotational", plain("boolean")},
            {"removable", plain("boolean")},
            {"read_only", plain("boolean")},
            {"model", nullable("string")},
            {"serial", nullable("string")},
            {"parent", nullable("string")},
            {"partnum", nullable("integer")},
            {"start_bytes", nullable("integer")},
            {"partlabel", nullable("string")},
            {"partuuid", nullable("string")},
            {"parttype", nullable("string")},
            {"parttype_name", nullable("string")},
            {"pttype", nullable("string")},
            {"ptuuid", nullable("string")},
            {"fstype", nullable("string")},
            {"label", nullable("string")},
            {"uuid", nullable("string")},
            {"fsversion", nullable("string")},
            {"usage", nullable("string")},
            {"damaged", nullable("string")},
            {"mountpoints", strings()},
            {"holders", strings()},
            {"backing_file", nullable("string")},
            {"major", plain("integer")},
            {"minor", plain("integer")}};
  return {{"type", "object"}, {"properties", p}};
}

json filesystem_schema() {
  json s = device_schema();
  s["properties"]["mos"] = plain("boolean");
  s["properties"]["mos_role"] = nullable("string");
  return s;
}

json mount_schema() {
  return {{"type", "object"},
          {"properties",
           {{"target", plain("string")},
            {"source", plain("string")},
            {"fstype", plain("string")},
            {"options", plain("string")},
            {"super_options", plain("string")},
            {"root", plain("string")},
            {"device", nullable("string")},
            {"label", nullable("string")},
            {"mos", plain("boolean")}}}};
}

json job_schema() {
  return {{"type", "object"},
          {"properties",
           {{"id", plain("integer")},
            {"kind", plain("string")},
            {"target", plain("string")},
            {"state", {{"type", "string"}, {"enum", {"queued", "running", "succeeded", "failed", "cancelled", "interrupted"}}}},
            {"done", plain("integer")},
            {"total", plain("integer")},
            {"percent", plain("number")},
            {"error", nullable("string")},
            {"error_code", nullable("integer")},
            {"result", json::object()},
            {"queued_unix", plain("integer")},
            {"started_unix", plain("integer")},
            {"finished_unix", nullable("integer")}}}};
}

}  // namespace mos::rpc
