/**
 * @module components/DataTable
 * The app's one table of records: a labelled table whose first column heads each row (screen readers read a cell
 * with its row's name), one row per record, and a sentence instead of an empty body. Views describe their columns;
 * the markup, spacing and borders live here so that every table reads and looks the same.
 */
import type { ReactNode } from "react";

export const CELL = "px-2 py-1.5 align-top";

export interface Column<Row> {
  header: string;
  cell(row: Row): ReactNode;
  /** Classes added to this column's cells (width, font, wrapping); the heading column's default is `font-normal`. */
  className?: string;
}

export interface DataTableProps<Row> {
  /** The table's accessible name. */
  label: string;
  /** The first column heads its row (`<th scope="row">`). */
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  rowKey(row: Row): string;
  /** Shown instead of the table when there are no rows. */
  empty: ReactNode;
  /** A test id per row, for the browser tests. */
  rowTestId?(row: Row): string;
}

export function DataTable<Row>({ label, columns, rows, rowKey, empty, rowTestId }: DataTableProps<Row>) {
  if (rows.length === 0) return <p className="text-sm text-slate-600 dark:text-slate-400">{empty}</p>;
  return (
    <div className="overflow-x-auto">
      <table className="w-full text-left text-sm" aria-label={label}>
        <thead className="border-b border-slate-200 dark:border-slate-700">
          <tr>
            {columns.map((column) => (
              <th key={column.header} scope="col" className={CELL}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={rowKey(row)} className="border-b border-slate-100 dark:border-slate-800" data-testid={rowTestId?.(row)}>
              {columns.map((column, index) =>
                index === 0 ? (
                  <th key={column.header} scope="row" className={`${CELL} ${column.className ?? "font-normal"}`}>
                    {column.cell(row)}
                  </th>
                ) : (
                  <td key={column.header} className={`${CELL} ${column.className ?? ""}`}>
                    {column.cell(row)}
                  </td>
                ),
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
