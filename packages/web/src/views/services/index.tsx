/**
 * @module views/services
 * The Services area: the list at `/services` (live table, filters, register, edit, import, deregister) and a
 * service's own page at `/services/:id`, loaded only when someone opens one.
 */
import { lazy } from "react";
import { Route, Routes } from "react-router";
import { ServicesListPage } from "./list/ServicesListPage";

const ServicePage = lazy(() => import("./detail/ServicePage"));

export default function ServicesArea() {
  return (
    <Routes>
      <Route index element={<ServicesListPage />} />
      <Route path=":id" element={<ServicePage />} />
    </Routes>
  );
}
