/**
 * @module extension/popup-main
 * Entry of popup.html: the toolbar popup (and, by its `view` parameter, the full tab and the options page).
 */
import { mountExtensionPage } from "./mount";

mountExtensionPage("popup");
